/* make_j: each part returns its number after a little work, so each compile is real. */
int one(void);
int two(void);
int three(void);
int four(void);
int five(void);
