// SPDX-License-Identifier: MIT
#include "json_u64.h"

json_t *nw_json_u64(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	return json_real((double)v);
}
