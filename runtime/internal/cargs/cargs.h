// cargs is the part of berth-runtime's command line that its C
// constructors read before the Go runtime (and cobra) do: which command it
// is, and whether a flag is there. Each constructor's package compiles
// its own copy (static inline).
#ifndef BERTH_CARGS_H
#define BERTH_CARGS_H

#include <stddef.h>
#include <string.h>

// berth_command returns the index of argv's command, skipping the global
// flags that take a value as cobra reads them; -1 when there is none, or
// "--" comes first.
static inline int berth_command(int argc, char **argv)
{
	static const char *valued[] = {"--root", "--log", "--log-format", "--rootless", NULL};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return -1;
		if (a[0] != '-')
			return i;
		for (int k = 0; valued[k] != NULL; k++)
			if (strcmp(a, valued[k]) == 0)
				i++;
	}
	return -1;
}

// berth_creates reports whether argv's command (at cmd) is create or run.
static inline int berth_creates(char **argv, int cmd)
{
	return cmd >= 0 && (strcmp(argv[cmd], "create") == 0 || strcmp(argv[cmd], "run") == 0);
}

// berth_is_flag reports whether a is flag, alone or as flag=VALUE.
static inline int berth_is_flag(const char *a, const char *flag)
{
	size_t n = strlen(flag);
	return strncmp(a, flag, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

#endif
