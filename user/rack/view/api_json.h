/* SPDX-License-Identifier: MIT */
/* The JSON API documents, built with jansson from a rack view. */
#ifndef NW_API_JSON_H
#define NW_API_JSON_H

#include "rack_view.h"

/* /api/v1/rack: malloc'ed compact JSON, NULL when out of memory. */
char *nw_api_rack_json(const struct nw_rack_view *v);
/* /api/v1/servers/<id>/spectrum for one server. */
char *nw_api_spectrum_json(const struct nw_rack_view *v, const struct nw_server_view *e);

#endif
