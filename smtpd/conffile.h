/*
 * The files a configuration is made of, read once by the parent and
 * handed to each child as one sealed memory file (conffile.c), part of
 * the runtime: it knows files by path and kind, nothing of what they
 * say.
 */
#ifndef CONFFILE_H
#define CONFFILE_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Which processes a file reaches: see conffile_kinds() in smtpd.c. */
#define CONFFILE_CONF		0x01	/* smtpd.conf, /etc/mailname */
#define CONFFILE_TABLE		0x02	/* tables and the kill file */
#define CONFFILE_CERT		0x04	/* certificates and CAs */
#define CONFFILE_KEY		0x08	/* private keys */
#define CONFFILE_RELAY		0x10	/* tables of relay actions */
#define CONFFILE_INCLUDE	0x20	/* files alias tables include */
#define CONFFILE_KINDS		0x3f

#define CONFFILE_SIZE_MAX	(64 * 1024 * 1024)	/* one file */
#define CONFFILE_COUNT_MAX	4096

struct conffile {
	TAILQ_ENTRY(conffile)	 entry;
	char			*path;
	int			 kind;
	struct stat		 sb;	/* dev, ino, size and mtime only */
	unsigned char		*data;
	size_t			 len;
};

struct conffiles {
	TAILQ_HEAD(, conffile)	 files;
	size_t			 count;
	uint32_t		 generation;
	int			 missing;	/* errno of a file not held */
};

struct conffiles	*conffiles_new(uint32_t);
void			 conffiles_free(struct conffiles *);
void			 conffiles_mark(struct conffiles *, const char *, int);
void			 conffiles_record(struct conffiles *);
void			 conffiles_serve(struct conffiles *);
struct conffiles	*conffiles_serving(void);
FILE			*conffile_open(const char *, int, struct stat *);
int			 conffile_read(const char *, int,
			    const unsigned char **, size_t *);
int			 conffiles_memfd(const struct conffiles *, int);
struct conffiles	*conffiles_decode(const unsigned char *, size_t);
struct conffiles	*conffiles_from_fd(int);

#endif
