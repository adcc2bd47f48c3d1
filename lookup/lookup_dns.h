/* Reverse DNS for the lookup process (lookup_dns.c). */
#ifndef LOOKUP_DNS_H
#define LOOKUP_DNS_H

struct sockaddr;

/*
 * The confirmed name, or NULL; then the int is 1 when DNS could not
 * tell (a timeout, a server failure) and 0 when there is no name.
 */
typedef void (*dns_cb)(void *, const char *, int);

void	dns_init(void);
void	dns_reverse(const struct sockaddr *, dns_cb, void *);

#endif
