/* list_options.c - print the name of every option the library knows,
 * one a line, in the order of its descriptor table: memlane_config_key(0),
 * memlane_config_key(1), ... until NULL. test_man_options.sh compares
 * this list with the options documented in man/memlane-options.7. */
#include <stdio.h>

#include <memlane.h>

/* Far more options than the library will ever have: a table without its
 * NULL end would otherwise loop for ever. */
#define MAX_OPTIONS 10000

int main(void)
{
	size_t i;
	for (i = 0; i < MAX_OPTIONS; i++) {
		const char *key = memlane_config_key(i);
		if (!key)
			break;
		if (puts(key) == EOF) {
			perror("list_options: write");
			return 1;
		}
	}
	if (i == MAX_OPTIONS) {
		fprintf(stderr, "list_options: memlane_config_key() returned no NULL after %d keys\n", MAX_OPTIONS);
		return 1;
	}
	if (fflush(stdout) != 0) {
		perror("list_options: write");
		return 1;
	}
	return 0;
}
