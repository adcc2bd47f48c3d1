/*
 * libFuzzer target: the decoder of the configuration files a child
 * gets from the parent (smtpd/conffile.c).  Whatever it accepts must
 * encode back to the very same bytes, and each file it holds must read
 * back whole through conffile_open() and conffile_read().
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/conffile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_file(const struct conffile *f)
{
	const unsigned char	*data;
	struct stat		 sb;
	size_t			 len, got;
	char			*buf;
	FILE			*fp;

	if (conffile_read(f->path, CONFFILE_CONF, &data, &len) == -1 ||
	    data != f->data || len != f->len)
		abort();
	if ((fp = conffile_open(f->path, CONFFILE_CONF, &sb)) == NULL) {
		if (f->len == 0)
			return;
		abort();
	}
	if ((size_t)sb.st_size != f->len)
		abort();
	if ((buf = malloc(f->len + 1)) == NULL)
		abort();
	got = fread(buf, 1, f->len + 1, fp);
	if (got != f->len || memcmp(buf, f->data, got) != 0)
		abort();
	free(buf);
	fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conffiles	*cf;
	struct conffile		*f;
	struct stat		 sb;
	void			*p;
	int			 fd;

	if ((cf = conffiles_decode(data, size)) == NULL)
		return 0;
	conffiles_serve(cf);
	TAILQ_FOREACH(f, &cf->files, entry)
		check_file(f);
	fd = conffiles_memfd(cf, CONFFILE_KINDS);
	if (fstat(fd, &sb) == -1 || (size_t)sb.st_size != size)
		abort();
	if ((p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED || memcmp(p, data, size) != 0)
		abort();
	munmap(p, size);
	close(fd);
	conffiles_free(cf);
	if (conffiles_serving() != NULL)
		abort();
	return 0;
}
