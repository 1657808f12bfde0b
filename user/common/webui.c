// SPDX-License-Identifier: MIT
#include "webui.h"

#include <microhttpd.h>
#include <string.h>

#include "http_server.h"

/* Everything the page loads comes from the binary itself: the policy makes
 * the browser refuse anything else (no CDN can sneak back in) and report it
 * on the console, where the browser tests look. uPlot sizes its elements
 * through inline styles, hence 'unsafe-inline' for styles only. */
#define NW_WEBUI_CSP                                                                      \
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "       \
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"

const struct nw_webui_asset *nw_webui_find(const char *url)
{
	if (!strcmp(url, "/"))
		url = "/index.html";
	for (size_t i = 0; i < nw_webui_nassets; i++)
		if (!strcmp(url, nw_webui_assets[i].path))
			return &nw_webui_assets[i];
	return NULL;
}

static int serve(struct MHD_Connection *c, const struct nw_webui_asset *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* The data is static for the life of the process: MHD sends it in place. */
	r = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	/* Revalidate: a new binary may serve new files under the same names. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "Content-Security-Policy", NW_WEBUI_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int nw_webui_handle(struct MHD_Connection *c, const char *url, const char *tier_json, int *ret)
{
	const struct nw_webui_asset *a;

	if (!strcmp(url, "/api/v1/ui")) {
		*ret = nw_http_reply(c, MHD_HTTP_OK, NW_HTTP_JSON, tier_json, strlen(tier_json), 1);
		return 1;
	}
	a = nw_webui_find(url);
	if (!a)
		return 0;
	*ret = serve(c, a);
	return 1;
}

int nw_webui_redirect(struct MHD_Connection *c, const char *location)
{
	static const char body[] = "see the Location header\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, NW_HTTP_TEXT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_FOUND, r);
	MHD_destroy_response(r);
	return ret;
}
