/*
 * The macros of the configuration (macro.c): NAME = "value" in the
 * file, expanded by the parser's lexer at $NAME, and -D NAME=value on
 * the command line, which outlives each file parsed and wins over it.
 */
#ifndef MACRO_H
#define MACRO_H

int	 macro_set(const char *, const char *, int);
char	*macro_get(const char *);
void	 macro_clear(void);
int	 macro_define(char *);

#endif
