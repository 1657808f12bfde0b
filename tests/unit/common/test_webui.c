// SPDX-License-Identifier: MIT
/* The embedded web UI: every file the page loads is in the binary, under
 * the path the page asks for, with a type the browser accepts under the
 * page's nosniff policy; nothing else is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "webui.h"

static const char *const page_files[] = { "/index.html", "/ui/app.js", "/ui/app.css",
					  "/ui/uplot.min.js", "/ui/uplot.min.css" };

static void test_page_files_embedded(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(page_files) / sizeof(page_files[0]); i++) {
		const struct nw_webui_asset *a = nw_webui_find(page_files[i]);

		assert_non_null(a);
		assert_string_equal(a->path, page_files[i]);
		assert_true(a->len > 100);
		assert_int_equal(a->data[a->len], 0); /* the generator's terminator */
	}
	assert_int_equal(nw_webui_nassets, sizeof(page_files) / sizeof(page_files[0]));
}

static void test_root_is_the_page(void **state)
{
	const struct nw_webui_asset *a = nw_webui_find("/");

	(void)state;
	assert_ptr_equal(a, nw_webui_find("/index.html"));
	assert_string_equal(a->type, "text/html; charset=utf-8");
	/* it loads its script and uPlot from this binary, no other origin */
	assert_non_null(memmem(a->data, a->len, "src=\"/ui/app.js\"", 16));
	assert_non_null(memmem(a->data, a->len, "src=\"/ui/uplot.min.js\"", 22));
	assert_null(memmem(a->data, a->len, "http", 4));
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(nw_webui_find("/ui/app.js")->type, "text/javascript; charset=utf-8");
	assert_string_equal(nw_webui_find("/ui/uplot.min.css")->type, "text/css; charset=utf-8");
}

static void test_others_not_found(void **state)
{
	static const char *const bad[] = { "",
					   "/ui/",
					   "/ui",
					   "/index.htm",
					   "/UI/app.js",
					   "/ui/app.js/",
					   "/../index.html",
					   "/ui/app.jsx",
					   "//ui/app.js",
					   "/metrics" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(nw_webui_find(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_files_embedded),
		cmocka_unit_test(test_root_is_the_page),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_others_not_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
