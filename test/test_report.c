/* The progress line: it fits the terminal, and its rate and ETA count the
 * images worked on, not the ones a resume skips. */
#include <string.h>

#include "cli/report.h"
#include "test.h"

static void test_progress_fits_the_terminal(void) {
    PipelineCounts c = {.done = 37, .skipped = 0, .failed = 1};
    char line[256];
    for (int cols = 10; cols <= 200; cols += 7) {
        report_progress_line(line, sizeof line, cols, &c, 1000, 12.5);
        CHECK_MSG((int)strlen(line) <= cols - 1, "%d columns: %zu: %s", cols, strlen(line), line);
        CHECK_MSG(strstr(line, "38/1000") || cols < 16, "%d columns: %s", cols, line);
    }
    report_progress_line(line, sizeof line, 80, &c, 1000, 12.5);
    CHECK_MSG(line[0] == '[' && strstr(line, "3.0 images/s"), "%s", line);
    report_progress_line(line, sizeof line, 30, &c, 1000, 12.5);
    CHECK_MSG(line[0] != '[', "no room for a bar at 30 columns: %s", line);
}

static void test_eta_ignores_skipped_images(void) {
    char line[256];
    // A resume still skipping: no image worked on yet, so no ETA.
    PipelineCounts skipping = {.skipped = 500};
    report_progress_line(line, sizeof line, 100, &skipping, 1000, 2.0);
    CHECK_MSG(strstr(line, "ETA --") && strstr(line, "500/1000"), "%s", line);
    // 10 worked on in 10 s, 90 skipped: 100 of 200 left at 1 image/s.
    PipelineCounts resumed = {.done = 10, .skipped = 90};
    report_progress_line(line, sizeof line, 100, &resumed, 200, 10.0);
    CHECK_MSG(strstr(line, "1.0 images/s") && strstr(line, "ETA 1m40s"), "%s", line);
}

int main(void) {
    RUN(test_progress_fits_the_terminal);
    RUN(test_eta_ignores_skipped_images);
    return test_summary();
}
