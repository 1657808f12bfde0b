/* SPDX-License-Identifier: MIT */
/* The JSON API documents, built with jansson from a rack view. */
#ifndef NW_API_JSON_H
#define NW_API_JSON_H

#include "rack_view.h"

struct nw_server_analysis;

/* /api/v1/rack: malloc'ed compact JSON, NULL when out of memory. */
char *nw_api_rack_json(const struct nw_rack_view *v);
/* /api/v1/servers/<id>/spectrum for one server. */
char *nw_api_spectrum_json(const struct nw_rack_view *v, const struct nw_server_view *e);

/* At most this many of the newest delay points go into one document (the
 * web UI's server page polls it every second: ~50 KB). */
#define NW_API_DELAY_MAX 2400U
/* /api/v1/servers/<id>/delay: the newest points of the server's one-way
 * delay series (the periodicity ring, which the skew fit also reads), the
 * skew fit's line over them and the periods found. `s` NULL (not analysed
 * yet): an empty series. */
char *nw_api_delay_json(const struct nw_rack_view *v, const struct nw_server_view *e,
			const struct nw_server_analysis *s);

#endif
