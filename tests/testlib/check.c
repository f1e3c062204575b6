/* check.c - the case runner behind TEST_MAIN(). */
#include "check.h"

int test_main(int argc, char **argv)
{
    int ran = 0;

    for (int i = 0; i < test_ncases; i++) {
        if (argc > 1 && strcmp(argv[1], test_cases[i].name) != 0)
            continue;
        fprintf(stderr, "-- %s\n", test_cases[i].name);
        test_cases[i].fn();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "");
        return 1;
    }
    return 0;
}
