/*
 * Buffered, event-driven I/O on one socket, in the clear or over TLS
 * (libtls), for the SMTP sessions of the listener and the mta.  The
 * owner is called back with one event at a time.
 */
#ifndef IO_H
#define IO_H

#include <sys/types.h>

#include <event2/buffer.h>
#include <tls.h>

/*
 * Nothing more is read while this much input waits for the owner, or
 * this much output for the peer.  An owner must be able to go on with
 * IO_INPUT_MAX bytes of input in hand.
 */
#define IO_INPUT_MAX	65536
#define IO_OUTPUT_MAX	16384

enum io_event {
	IO_DATAIN,		/* new bytes in io_input() */
	IO_DRAINED,		/* everything written */
	IO_TLSREADY,		/* handshake done */
	IO_TIMEOUT,
	IO_DISCONNECTED,	/* the peer closed */
	IO_ERROR,		/* see io_error() */
};

struct io;
typedef void (*io_cb)(struct io *, enum io_event, void *);

struct io	*io_new(int, io_cb, void *);
void		 io_free(struct io *);
void		 io_set_timeout(struct io *, int);
void		 io_set_read(struct io *, int);
struct evbuffer	*io_input(struct io *);
size_t		 io_output_len(struct io *);
int		 io_write(struct io *, const void *, size_t);
int		 io_start_tls_server(struct io *, struct tls *);
int		 io_start_tls_client(struct io *, struct tls *, const char *);
int		 io_is_tls(struct io *);
struct tls	*io_tls(struct io *);
const char	*io_error(struct io *);

#endif
