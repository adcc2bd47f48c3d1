/* Reverse DNS for the lookup process (lookup_dns.c). */
#ifndef LOOKUP_DNS_H
#define LOOKUP_DNS_H

struct sockaddr;

typedef void (*dns_cb)(void *, const char *);

void	dns_init(void);
void	dns_reverse(const struct sockaddr *, dns_cb, void *);

#endif
