/*
 * libFuzzer target: the smtpd.conf parser, fed a whole file.  Any text
 * must either parse or be refused with errors; the parser may not
 * crash, reach fatal(), or keep memory once the result is freed.
 * Tables are not loaded (no PARSE_TABLES): a fuzzed file must not make
 * the fuzzer read the paths it names.
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "smtpd/smtpd.h"
#include "smtpd/mda.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The grammar checks an lmtp destination with mda_lmtp.c, whose
 * delivery half reads messages through mda.c: never called here.
 */
void
mda_reader_init(struct mda_reader *r, int fd)
{
	abort();
}

ssize_t
mda_reader_line(struct mda_reader *r, char **linep)
{
	abort();
}

void
mda_reader_free(struct mda_reader *r)
{
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_config	*conf;
	char			 path[64];
	int			 fd;

	if ((fd = memfd_create("smtpd.conf", MFD_CLOEXEC)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((conf = parse_config(path, 0)) != NULL)
		config_free(conf);
	close(fd);
	return 0;
}
