/* SPDX-License-Identifier: MIT */
/*
 * The web UI (web/, docs/web-ui.md): one page that netwatch-dc and
 * netwatch-rack both serve at "/". Its files are embedded at build time
 * (web/embed.py writes $(BUILD)/webui_assets.c from web/ and the pinned
 * uPlot in web/node_modules), so a binary needs no file at run time.
 *
 *   GET /, /index.html    the page
 *   GET /ui/<file>        its script, style sheet and uPlot
 *   GET /api/v1/ui        JSON {"tier": "dc"|"rack", ...}: which API the page reads
 *
 * Static, read-only data: no state, no allocation but MHD's response.
 */
#ifndef NW_WEBUI_H
#define NW_WEBUI_H

#include <stddef.h>

struct MHD_Connection;

struct nw_webui_asset {
	const char *path; /* URL path, e.g. "/ui/app.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Generated ($(BUILD)/webui_assets.c). */
extern const struct nw_webui_asset nw_webui_assets[];
extern const size_t nw_webui_nassets;

/* The asset at `url` ("/" is /index.html), or NULL. */
const struct nw_webui_asset *nw_webui_find(const char *url);

/* Answers `url` when it is the page, one of its files or /api/v1/ui, whose
 * document is `tier_json` (a JSON object the caller owns). 1 with *ret set to
 * what MHD's handler returns; 0 when `url` is not the UI's. */
int nw_webui_handle(struct MHD_Connection *c, const char *url, const char *tier_json, int *ret);

/* 302 to `location` (absolute URL), with a short text body. */
int nw_webui_redirect(struct MHD_Connection *c, const char *location);

#endif
