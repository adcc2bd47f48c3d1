/*
 * libFuzzer target: the file formats of lookup/: a table file (key or
 * key and value per line, # comments) and a kill file (one entry per
 * line).  The same text is given to both; each must load or fail with
 * an error, and what loads must be what the text says:
 *
 *  - a table holds trimmed keys and values without blanks at their
 *    ends, found again by table_get(), and is empty after a failure;
 *    a file holding a NUL is refused (it would hide part of a line);
 *  - every entry of a kill file that loaded is found by the look-up
 *    of its kind: an address in its network, a name, a sender;
 *  - read as a senders table, a value lets the null sender through
 *    only if it lists <>.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/lookup.h"

#define NAME_MAX_KF	255	/* the kill file's longest name */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct walk {
	struct table	*t;
	size_t		 n;
};

static int
check_entry(const char *key, const char *value, void *arg)
{
	struct walk	*w = arg;
	const char	*got;
	size_t		 len;

	w->n++;
	if (key[0] == '\0' || strpbrk(key, " \t\r\n\v\f#") != NULL)
		abort();
	if (value != NULL) {
		len = strlen(value);
		if (len == 0 || isspace((unsigned char)value[0]) ||
		    isspace((unsigned char)value[len - 1]) ||
		    strpbrk(value, "\n#") != NULL)
			abort();
	}
	if ((got = table_get(w->t, key)) == NULL ||
	    strcmp(got, value != NULL ? value : "") != 0)
		abort();
	/* As a senders table: its list is read within its bounds. */
	if (senders_owns(w->t, key, "") &&
	    (value == NULL || strstr(value, "<>") == NULL))
		abort();
	(void)senders_owns(w->t, key, "user@example.org");
	return 0;
}

static void
check_table(const char *path, int nul)
{
	struct table	*t;
	struct walk	 w;
	char		 err[512];

	if ((t = table_create("fuzz", TABLE_FILE, path)) == NULL)
		abort();
	err[0] = '\0';
	if (table_load(t, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || t->count != 0)
			abort();
	} else {
		if (nul)
			abort();
		memset(&w, 0, sizeof(w));
		w.t = t;
		table_walk(t, check_entry, &w);
		if (w.n != t->count)
			abort();
	}
	table_free(t);
}

/* An address, or a network given by its first address, is found. */
static int
kf_found_net(struct killfile *kf, const char *entry)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 buf[INET6_ADDRSTRLEN];
	size_t			 len = strcspn(entry, "/");

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, entry, len);
	buf[len] = '\0';
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET, buf, &sin.sin_addr) == 1)
		return killfile_has_addr(kf, (struct sockaddr *)&sin);
	if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) != 1)
		return -1;
	/*
	 * A mapped client is looked up as the IPv4 client it stands for:
	 * an IPv6 network wider than the mapped range does not cover it.
	 */
	if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) && entry[len] == '/' &&
	    atoi(entry + len + 1) < 96)
		return 1;
	return killfile_has_addr(kf, (struct sockaddr *)&sin6);
}

/* A name entry is found by the look-up it is meant for. */
static int
kf_found_name(struct killfile *kf, const char *entry)
{
	char	 q[NAME_MAX_KF + 3];
	int	 r;

	if (strchr(entry, '@') == NULL) {
		if (entry[0] == '.')
			entry++;
		return killfile_has_host(kf, entry);
	}
	if (entry[0] != '@')
		return killfile_has_sender(kf, entry);
	/* "@domain" and "@.domain" cover every sender of the domain. */
	if (entry[1] == '.')
		entry++;
	r = snprintf(q, sizeof(q), "x@%s", entry + 1);
	if (r < 0 || (size_t)r > NAME_MAX_KF)
		return 1;
	return killfile_has_sender(kf, q);
}

/* The entry of a line as the kill file reads it, or NULL. */
static char *
kf_entry(char *line)
{
	char	*p, *end;

	for (p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	while (isspace((unsigned char)*line))
		line++;
	end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return line[0] != '\0' ? line : NULL;
}

static void
check_killfile(const char *path, const uint8_t *data, size_t size)
{
	struct killfile	*kf;
	char		 err[512], *text, *line, *next, *entry;
	int		 r;

	if ((kf = killfile_new()) == NULL)
		abort();
	err[0] = '\0';
	if (killfile_load(kf, path, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || killfile_count(kf) != 0)
			abort();
		killfile_free(kf);
		return;
	}
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((entry = kf_entry(line)) == NULL)
			continue;
		/* A network never holds an '@'; a sender always does. */
		r = -1;
		if (strchr(entry, '@') == NULL)
			r = kf_found_net(kf, entry);
		if (r == -1)
			r = kf_found_name(kf, entry);
		if (r != 1)
			abort();
	}
	free(text);
	killfile_free(kf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 path[64];
	int	 fd;

	if ((fd = memfd_create("table", MFD_CLOEXEC)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	check_table(path, memchr(data, '\0', size) != NULL);
	check_killfile(path, data, size);
	close(fd);
	return 0;
}
