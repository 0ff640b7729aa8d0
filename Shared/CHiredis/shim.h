#ifndef CAIRN_CHIREDIS_SHIM_H
#define CAIRN_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
