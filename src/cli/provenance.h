/* provenance.h: what a map says about how it was made.
 *
 * Every PNG guidedbp writes carries, in iTXt chunks (png.h), the settings
 * that decide its pixels, the SHA-256 of the input file, and the results
 * (class, score, probability, top-k, checks); the JSON record of each image
 * carries the same fields. --skip-existing keeps an output only when its
 * settings and input digest are this run's, so a changed method, class,
 * style, weights file or photo is redone, never silently kept.
 *
 * The settings are one compact JSON object, built here from the options
 * and compared as text: the same settings always print the same bytes.
 * They name the weights by their file name and SHA-256, which for a file
 * of 244 MB costs 0.18 s; the digest is therefore kept in
 * $XDG_CACHE_HOME/guidedbp/weights.sha256 (default ~/.cache), keyed by the
 * file's device, inode, size and modification time, as git and ccache
 * trust a file unchanged. A cache that cannot be read or written is only
 * slower.
 */
#ifndef GUIDEDBP_PROVENANCE_H
#define GUIDEDBP_PROVENANCE_H

#include "cli/cli.h"
#include "io/digest.h"
#include "nn/weights.h"
#include "util/error.h"

/* The SHA-256 of the weights file `path` (cached, above). */
int provenance_weights_digest(const char *path, char hex[DIGEST_HEX], Error *e);

/* The settings of a run as compact JSON (malloc'd; NULL when out of
 * memory): guidedbp's version, the weights (spec: a file or random:...,
 * and its digest, NULL for random weights), the method and what it uses of
 * spec (guide, layers by their names in g, SmoothGrad, integrated
 * gradients), the target (a class, the predicted class, or a layer's
 * channel), style, crop, full size, and the check. */
char *provenance_settings(const Options *o, const char *weights, const char *digest,
                          const Graph *g, const MethodSpec *spec, int target, int vs);

#endif
