#ifndef _GNU_SOURCE
#error "CGraphviz is built with _GNU_SOURCE (Package.swift)"
#endif
#include "CGraphviz.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

static struct {
    Agraph_t *(*agmemread)(const char *);
    int (*agclose)(Agraph_t *);
    char *(*agget)(void *, char *);
    int (*agsafeset)(void *, char *, char *, char *);
    agerrlevel_t (*agseterr)(agerrlevel_t);
    agusererrf (*agseterrf)(agusererrf);
    int (*agreseterrors)(void);
    GVC_t *(*gvContext)(void);
    int (*gvLayout)(GVC_t *, graph_t *, const char *);
    int (*gvFreeLayout)(GVC_t *, graph_t *);
    int (*gvRender)(GVC_t *, graph_t *, const char *, FILE *);
} gv;
static int gv_state;            /* 0 not tried, 1 loaded, -1 failed */
static char gv_error[512];
static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;

/* The runtime names (sonames) first; the development links after them. */
static void *open_first(const char *const names[]) {
    void *h = NULL;
    for (int i = 0; names[i] && !h; i++) {
        h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h && i == 0) snprintf(gv_error, sizeof gv_error, "%s", dlerror());
    }
    return h;
}

static int load_locked(void) {
    static const char *const cgraph_names[] = { "libcgraph.so.6", "libcgraph.so", NULL };
    static const char *const gvc_names[] = { "libgvc.so.6", "libgvc.so", NULL };
    void *cg = open_first(cgraph_names);
    if (!cg) return -1;
    void *gc = open_first(gvc_names);
    if (!gc) return -1;
    const char *missing = NULL;
#define SYM(lib, name) do { *(void **)&gv.name = dlsym(lib, #name); if (!gv.name && !missing) missing = #name; } while (0)
    SYM(cg, agmemread); SYM(cg, agclose); SYM(cg, agget); SYM(cg, agsafeset); SYM(cg, agseterr);
    SYM(cg, agseterrf); SYM(cg, agreseterrors);
    SYM(gc, gvContext); SYM(gc, gvLayout); SYM(gc, gvFreeLayout); SYM(gc, gvRender);
#undef SYM
    if (missing) {
        snprintf(gv_error, sizeof gv_error, "%s not found in libcgraph/libgvc", missing);
        return -1;
    }
    gv_error[0] = 0;
    return 0;
}

int pt_gv_load(void) {
    pthread_mutex_lock(&gv_lock);
    if (gv_state == 0) gv_state = load_locked() == 0 ? 1 : -1;
    int r = gv_state == 1 ? 0 : -1;
    pthread_mutex_unlock(&gv_lock);
    return r;
}

const char *pt_gv_load_error(void) { return gv_error; }

Agraph_t *pt_agmemread(const char *cp) { return gv.agmemread(cp); }
int pt_agclose(Agraph_t *g) { return gv.agclose(g); }
char *pt_agget(void *obj, char *name) { return gv.agget(obj, name); }
int pt_agsafeset(void *obj, char *name, char *value, char *def) { return gv.agsafeset(obj, name, value, def); }
agerrlevel_t pt_agseterr(agerrlevel_t level) { return gv.agseterr(level); }
agusererrf pt_agseterrf(agusererrf f) { return gv.agseterrf(f); }
int pt_agreseterrors(void) { return gv.agreseterrors(); }
GVC_t *pt_gvContext(void) { return gv.gvContext(); }
int pt_gvLayout(GVC_t *gvc, graph_t *g, const char *engine) { return gv.gvLayout(gvc, g, engine); }
int pt_gvFreeLayout(GVC_t *gvc, graph_t *g) { return gv.gvFreeLayout(gvc, g); }
int pt_gvRender(GVC_t *gvc, graph_t *g, const char *format, FILE *out) { return gv.gvRender(gvc, g, format, out); }
