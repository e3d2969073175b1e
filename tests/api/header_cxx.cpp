// SPDX-License-Identifier: Apache-2.0
// Compile-only check: the public header builds as C++ and links from C++.
#include <mmapio.h>

int main()
{
	mmapio_map *map = nullptr;
	struct mmapio_view view = {};
	(void)view;
	return mmapio_close(map) == 0 && mmapio_version() == (unsigned long)MMAPIO_VERSION_NUMBER ? 0 : 1;
}
