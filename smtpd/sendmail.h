/*
 * smtpctl by its other names: sendmail (sendmail.c), mailq and
 * newaliases (smtpctl.c).
 */
#ifndef SENDMAIL_H
#define SENDMAIL_H

void		 sendmail_drop_group(void);
const char	*sendmail_path(const char *, const char *);
int		 sendmail_main(int, char *[]);
int		 mailq_main(void);
int		 newaliases_main(void);

#endif
