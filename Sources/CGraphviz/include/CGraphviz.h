/* Graphviz, loaded when a picture is first rendered (dlopen), not at every start: `record`,
   `tree`, `stats` … never use it, and the dynamic loader spent ~0.4 ms and ~55 page faults
   of each start mapping libgvc, libcgraph, libcdt and their dependencies (libltdl,
   libpathplan, libexpat). The types and declarations are Graphviz's own headers; every call
   goes through the function pointers `pt_gv_load` resolves. */
#ifndef PROCTRACE_CGRAPHVIZ_H
#define PROCTRACE_CGRAPHVIZ_H

#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>
#include <malloc.h>
#include <stdio.h>

/* Loads libgvc and libcgraph (RTLD_NOW: a missing symbol fails here, not mid-render).
   0 on success (also when already loaded); -1, with the reason in `pt_gv_load_error`. */
int pt_gv_load(void);
/* Why the last `pt_gv_load` failed (the dynamic loader's words), or "" */
const char *_Nonnull pt_gv_load_error(void);

/* The Graphviz calls proctrace makes, one to one (call `pt_gv_load` first). */
Agraph_t *_Nullable pt_agmemread(const char *_Nonnull cp);
int pt_agclose(Agraph_t *_Nonnull g);
char *_Nullable pt_agget(void *_Nonnull obj, char *_Nonnull name);
int pt_agsafeset(void *_Nonnull obj, char *_Nonnull name, char *_Nonnull value, char *_Nonnull def);
agerrlevel_t pt_agseterr(agerrlevel_t level);
agusererrf _Nullable pt_agseterrf(agusererrf _Nullable f);
int pt_agreseterrors(void);
GVC_t *_Nullable pt_gvContext(void);
int pt_gvLayout(GVC_t *_Nonnull gvc, graph_t *_Nonnull g, const char *_Nonnull engine);
int pt_gvFreeLayout(GVC_t *_Nonnull gvc, graph_t *_Nonnull g);
int pt_gvRender(GVC_t *_Nonnull gvc, graph_t *_Nonnull g, const char *_Nonnull format, FILE *_Nonnull out);

#endif
