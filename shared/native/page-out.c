/*
 * page-out.node: one call, pageOut(start, length), that asks the kernel to reclaim the resident pages of
 * a range of this process's memory now (madvise MADV_PAGEOUT, Linux 5.4+). Used on a native library's
 * read-only mappings once its initialisation is over: the pages it touched only then go back to the
 * kernel; the ones still in use fault back in from the file. Returns 0, or the errno madvise set.
 *
 * Node-API is a stable C ABI, so the few functions used are declared here rather than taken from Node's
 * headers: building needs only a C compiler (gcc, or aarch64-linux-gnu-gcc for the Pi), and the binary
 * loads in any Node from 20 on. The module registers through the symbol Node looks for in an addon.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* napi_ok is 0 */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv,
                                    napi_value *this_arg, void **data);
extern napi_status napi_get_value_int64(napi_env env, napi_value value, int64_t *result);
extern napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
extern napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb,
                                        void *data, napi_value *result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char *name,
                                           napi_value value);
extern napi_status napi_throw_type_error(napi_env env, const char *code, const char *msg);

static napi_value page_out(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t start = 0, length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 2 ||
      napi_get_value_int64(env, argv[0], &start) != 0 || napi_get_value_int64(env, argv[1], &length) != 0 ||
      start <= 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "pageOut(start, length): two positive integers");
    return NULL;
  }
  int rc = madvise((void *)(uintptr_t)start, (size_t)length, MADV_PAGEOUT);
  napi_value result;
  napi_create_int32(env, rc == 0 ? 0 : errno, &result);
  return result;
}

/* Node-API 8 (Node 12.22 and later). */
int32_t node_api_module_get_api_version_v1(void) { return 8; }

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "pageOut", (size_t)-1, page_out, NULL, &fn) != 0 ||
      napi_set_named_property(env, exports, "pageOut", fn) != 0)
    return NULL;
  return exports;
}
