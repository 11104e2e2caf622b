// N-API bindings of the native kernels (ternary GEMM, F16 GEMV, decode attention) for Node.
#define NAPI_VERSION 8
#include <math.h>
#include <node_api.h>
#include <stdlib.h>
#include "native.h"

/* ------------------------------------------------------------------ N-API */

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "BITNET_NATIVE", message);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

/* argv[i] as an int32 when it was passed as a number; 0 (and *v untouched) otherwise. */
static int optional_int32(napi_env env, size_t argc, napi_value *argv, size_t i, int32_t *v) {
  napi_valuetype t;
  if (argc <= i || napi_typeof(env, argv[i], &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, argv[i], v) == napi_ok;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return throw_error(env, "gemm(codes, rows, cols, x, batch, groupCols, out, threads)");
  void *codes, *x, *out;
  size_t ncodes, nx, nout;
  int32_t rows, cols, batch, gcols, threads;
  if (!typed(env, argv[0], napi_uint8_array, &codes, &ncodes)) return throw_error(env, "codes must be a Uint8Array");
  if (!typed(env, argv[3], napi_int8_array, &x, &nx)) return throw_error(env, "x must be an Int8Array");
  if (!typed(env, argv[6], napi_int32_array, &out, &nout)) return throw_error(env, "out must be an Int32Array");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  napi_get_value_int32(env, argv[4], &batch);
  napi_get_value_int32(env, argv[5], &gcols);
  napi_get_value_int32(env, argv[7], &threads);
  const char *error = ternary_gemm(codes, ncodes, rows, cols, x, nx, batch, gcols, out, nout, threads);
  return error == NULL ? NULL : throw_error(env, error);
}

static napi_value sgemm_binding(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "sgemm(a, b, c: Float32Array, batch, batchA, batchB, m, n, k, transposeA, transposeB, threads)";
  if (argc < 12) return throw_error(env, usage);
  void *a, *b, *c;
  size_t na, nb, nc;
  if (!typed(env, argv[0], napi_float32_array, &a, &na) || !typed(env, argv[1], napi_float32_array, &b, &nb) || !typed(env, argv[2], napi_float32_array, &c, &nc))
    return throw_error(env, usage);
  int32_t v[9];
  for (int i = 0; i < 9; i++) napi_get_value_int32(env, argv[3 + i], &v[i]);
  const int batch = v[0], batch_a = v[1], batch_b = v[2], m = v[3], n = v[4], k = v[5];
  if (batch <= 0 || m <= 0 || n <= 0 || k < 0 || (batch_a != 1 && batch_a != batch) || (batch_b != 1 && batch_b != batch))
    return throw_error(env, "sgemm: bad shape (batchA and batchB must be 1 or batch)");
  if (na != (size_t)batch_a * m * k || nb != (size_t)batch_b * k * n || nc != (size_t)batch * m * n) return throw_error(env, "sgemm: array lengths do not match the shape");
  if (!sgemm(a, b, c, batch, batch_a, batch_b, m, n, k, v[6] != 0, v[7] != 0, v[8])) return throw_error(env, "sgemm: out of memory");
  return NULL;
}

static napi_value adamw_binding(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "adamw(w, g, m, v, wOut, mOut, vOut: Float32Array, [lr, b1, b2, bc1, bc2, eps, decay, scale]: Float64Array)";
  if (argc < 8) return throw_error(env, usage);
  void *p[7];
  size_t len[7];
  for (int i = 0; i < 7; i++)
    if (!typed(env, argv[i], napi_float32_array, &p[i], &len[i])) return throw_error(env, usage);
  void *h;
  size_t nh;
  if (!typed(env, argv[7], napi_float64_array, &h, &nh) || nh != 8) return throw_error(env, usage);
  for (int i = 1; i < 7; i++)
    if (len[i] != len[0]) return throw_error(env, "adamw: the seven arrays must have one length");
  const double *x = h;
  const adamw_args_t a = {(float)x[0], (float)x[1], (float)x[2], (float)(1 - x[1]), (float)(1 - x[2]), (float)x[3], (float)x[4], (float)x[5], (float)x[6], (float)x[7]};
  adamw_update(p[0], p[1], p[2], p[3], p[4], p[5], p[6], len[0], &a);
  return NULL;
}

/* train(op, arrays: Float32Array[], dims: Int32Array, params: Float64Array, threads): a fused training kernel (train.c). */
static napi_value train_binding(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "train(op, arrays: Float32Array[], dims: Int32Array, params: Float64Array, threads)";
  bool is_array;
  uint32_t narrays;
  if (argc < 5 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &narrays) != napi_ok || narrays > 16)
    return throw_error(env, usage);
  int32_t op, threads;
  napi_get_value_int32(env, argv[0], &op);
  napi_get_value_int32(env, argv[4], &threads);
  float *arrays[16];
  size_t len[16];
  for (uint32_t i = 0; i < narrays; i++) {
    napi_value item;
    void *data;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok || !typed(env, item, napi_float32_array, &data, &len[i])) return throw_error(env, usage);
    arrays[i] = data;
  }
  void *dims, *params;
  size_t ndims, nparams;
  if (!typed(env, argv[2], napi_int32_array, &dims, &ndims) || !typed(env, argv[3], napi_float64_array, &params, &nparams)) return throw_error(env, usage);
  const char *error = train_run(op, arrays, len, (int)narrays, dims, (int)ndims, params, (int)nparams, threads);
  return error == NULL ? NULL : throw_error(env, error);
}

static napi_value train_path_binding(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, train_path(), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value sgemm_path_binding(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, sgemm_path(), NAPI_AUTO_LENGTH, &out);
  return out;
}

/* The arguments both F16 GEMVs share: weights (rows * cols halves), rows, cols, x (cols floats), out (rows floats). */
static int gemv_args(napi_env env, napi_value *argv, void **w, void **x, void **y, int32_t *rows, int32_t *cols) {
  size_t nw, nx, ny;
  if (!typed(env, argv[0], napi_uint16_array, w, &nw) || !typed(env, argv[3], napi_float32_array, x, &nx) || !typed(env, argv[4], napi_float32_array, y, &ny)) return 0;
  napi_get_value_int32(env, argv[1], rows);
  napi_get_value_int32(env, argv[2], cols);
  return *rows > 0 && *cols > 0 && nw == (size_t)*rows * *cols && nx == (size_t)*cols && ny == (size_t)*rows;
}

static napi_value gemv_half(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *w, *x, *y;
  int32_t rows, cols, threads;
  if (argc < 6 || !gemv_args(env, argv, &w, &x, &y, &rows, &cols))
    return throw_error(env, "gemvHalf(weights: Uint16Array, rows, cols, x: Float32Array, out: Float32Array, threads): arrays of the shape's lengths");
  napi_get_value_int32(env, argv[5], &threads);
  job_t job = {kernels.gemv_f16, NULL, rows, cols, NULL, NULL, 1, cols, 1, NULL, 0, rows, w, x, y};
  run_jobs(&job, threads);
  return NULL;
}

static napi_value gemv_half_ggml(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *w, *x, *y;
  int32_t rows, cols, variant = -1, threads;
  if (argc >= 7) napi_get_value_int32(env, argv[5], &variant);
  if (argc < 7 || !gemv_args(env, argv, &w, &x, &y, &rows, &cols) || variant < 0 || variant > 2 || (variant == 2 && cols % 16 != 0))
    return throw_error(env,
                       "gemvHalfGgml(weights: Uint16Array, rows, cols, x: Float32Array, out: Float32Array, variant: 0 (AVX-512) | 1 (AVX2) | 2 (AMX "
                       "buffer, cols a multiple of 16), threads): arrays of the shape's lengths");
  napi_get_value_int32(env, argv[6], &threads);
  kernel_fn fn = gemv_f16_ggml_scalar;
#ifdef BITNET_X86
  __builtin_cpu_init();
  const int f16_fma = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
  if (variant != 1 && f16_fma && __builtin_cpu_supports("avx512f")) fn = gemv_f16_ggml_avx512;
  if (variant == 1 && f16_fma && __builtin_cpu_supports("avx2")) fn = gemv_f16_ggml_avx2;
#endif
  job_t job = {fn, NULL, rows, cols, NULL, NULL, 1, cols, 1, NULL, 0, rows, w, x, y, variant};
  run_jobs(&job, threads);
  return NULL;
}

static napi_value attention(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *q, *k, *v, *out;
  size_t nq, nk, nv, nout;
  int32_t pos, heads, kv_heads, hd, threads = 1;
  if (argc < 8 || !typed(env, argv[0], napi_float32_array, &q, &nq) || !typed(env, argv[1], napi_float32_array, &k, &nk) ||
      !typed(env, argv[2], napi_float32_array, &v, &nv) || !typed(env, argv[7], napi_float32_array, &out, &nout))
    return throw_error(env, "attention(q, kCache, vCache, pos, heads, kvHeads, headDim, out, threads?)");
  napi_get_value_int32(env, argv[3], &pos);
  napi_get_value_int32(env, argv[4], &heads);
  napi_get_value_int32(env, argv[5], &kv_heads);
  napi_get_value_int32(env, argv[6], &hd);
  optional_int32(env, argc, argv, 8, &threads);
  if (pos < 0 || heads <= 0 || kv_heads <= 0 || hd <= 0 || heads % kv_heads != 0 || nq != (size_t)heads * hd || nout != nq ||
      nk < (size_t)(pos + 1) * kv_heads * hd || nv < (size_t)(pos + 1) * kv_heads * hd)
    return throw_error(env, "attention: array lengths do not match the shape");
  int failed = 0;
  attention_args_t args = {q, k, v, pos, heads, kv_heads, hd, out, &failed};
  job_t job = {0};
  job.fn = attention_job;
  job.rows = heads;
  job.r1 = heads;
  job.ctx = &args;
  job.align = 1;
  run_jobs(&job, threads < 1 ? 1 : threads);
  if (failed) return throw_error(env, "out of memory");
  return NULL;
}

/* SiLU-GLU elementwise (silu.c), split over the pool. */
static napi_value silu_glu(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *gate, *up, *out;
  size_t ng, nu, no;
  int32_t threads = 1;
  if (argc < 3 || !typed(env, argv[0], napi_float32_array, &gate, &ng) || !typed(env, argv[1], napi_float32_array, &up, &nu) ||
      !typed(env, argv[2], napi_float32_array, &out, &no))
    return throw_error(env, "siluGlu(gate, up, out: Float32Array, threads?)");
  optional_int32(env, argc, argv, 3, &threads);
  if (nu != ng || no != ng || ng > INT32_MAX) return throw_error(env, "siluGlu: gate, up and out must have the same length");
  if (ng == 0) return NULL;
  silu_args_t args = {gate, up, out};
  job_t job = {0};
  job.fn = silu_glu_job;
  job.rows = (int)ng;
  job.r1 = (int)ng;
  job.ctx = &args;
  job.align = 64;
  run_jobs(&job, threads < 1 ? 1 : threads);
  return NULL;
}

/* cosf and sinf of the C library, elementwise: the values llama.cpp's RoPE cache takes from it. */
static napi_value cos_sin_f(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *theta, *c, *s;
  size_t n, nc, ns;
  if (argc < 3 || !typed(env, argv[0], napi_float32_array, &theta, &n) || !typed(env, argv[1], napi_float32_array, &c, &nc) ||
      !typed(env, argv[2], napi_float32_array, &s, &ns) || nc != n || ns != n)
    return throw_error(env, "cosSinF(theta, cos, sin): three Float32Arrays of one length");
  for (size_t i = 0; i < n; i++) {
    ((float *)c)[i] = cosf(((const float *)theta)[i]);
    ((float *)s)[i] = sinf(((const float *)theta)[i]);
  }
  return NULL;
}

static napi_value prepare(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *codes;
  size_t ncodes;
  int32_t rows, cols;
  if (argc < 3 || !typed(env, argv[0], napi_uint8_array, &codes, &ncodes)) return throw_error(env, "prepare(codes, rows, cols)");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  if (rows <= 0 || cols <= 0 || cols % 256 != 0 || ncodes != (size_t)rows * cols / 4) return throw_error(env, "bad shape: codes must be rows * cols / 4 bytes, cols a multiple of 256");
  if (!kernels.vertical) return argv[0];
  void *data;
  napi_value buffer, array;
  const size_t size = ternary_prepared_size(rows, cols);
  if (napi_create_arraybuffer(env, size, &data, &buffer) != napi_ok) return throw_error(env, "out of memory");
  ternary_prepare(codes, rows, cols, data);
  napi_create_typedarray(env, napi_uint8_array, size, buffer, 0, &array);
  return array;
}

/* prepareInPlace(codes, rows, cols): 0 the kernel reads codes as they are, 1 converted in place, 2 rows not a multiple of 16 (use prepare) */
static napi_value prepare_in_place(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *codes;
  size_t ncodes;
  int32_t rows, cols;
  if (argc < 3 || !typed(env, argv[0], napi_uint8_array, &codes, &ncodes)) return throw_error(env, "prepareInPlace(codes, rows, cols)");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  if (rows <= 0 || cols <= 0 || cols % 256 != 0 || ncodes != (size_t)rows * cols / 4) return throw_error(env, "bad shape: codes must be rows * cols / 4 bytes, cols a multiple of 256");
  const int done = ternary_prepare_in_place(codes, rows, cols);
  if (done < 0) return throw_error(env, "out of memory");
  napi_value out;
  napi_create_int32(env, done, &out);
  return out;
}

/* weightBytes(delta): packed weights prepared (+) or collected (-), the working set the VNNI GEMV chooses by */
static napi_value weight_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t delta = 0;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &delta) != napi_ok) return throw_error(env, "weightBytes(delta: number)");
  ternary_weight_bytes(delta);
  return NULL;
}

/* gemvPath(choice?): 0 by working set, 1 stream, 2 tile; returns the GEMV the next call would run ('stream' or 'tile') */
static napi_value gemv_path(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t choice = 0;
  if (optional_int32(env, argc, argv, 0, &choice)) {
    if (choice < 0 || choice > 2) return throw_error(env, "gemvPath(choice?): 0 by working set, 1 stream, 2 tile");
    ternary_gemv_choice(choice);
  }
  napi_create_string_utf8(env, ternary_gemv_streams() ? "stream" : "tile", NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, kernels.name, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value init(napi_env env, napi_value exports) {
  choose_kernels();
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, sgemm_binding, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw_binding, NULL, NULL, NULL, napi_default, NULL},
      {"sgemmPath", NULL, sgemm_path_binding, NULL, NULL, NULL, napi_default, NULL},
      {"train", NULL, train_binding, NULL, NULL, NULL, napi_default, NULL},
      {"trainPath", NULL, train_path_binding, NULL, NULL, NULL, napi_default, NULL},
      {"features", NULL, features, NULL, NULL, NULL, napi_default, NULL},
      {"prepare", NULL, prepare, NULL, NULL, NULL, napi_default, NULL},
      {"prepareInPlace", NULL, prepare_in_place, NULL, NULL, NULL, napi_default, NULL},
      {"weightBytes", NULL, weight_bytes, NULL, NULL, NULL, napi_default, NULL},
      {"gemvPath", NULL, gemv_path, NULL, NULL, NULL, napi_default, NULL},
      {"gemvHalf", NULL, gemv_half, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL},
      {"siluGlu", NULL, silu_glu, NULL, NULL, NULL, napi_default, NULL},
      {"cosSinF", NULL, cos_sin_f, NULL, NULL, NULL, napi_default, NULL},
      {"gemvHalfGgml", NULL, gemv_half_ggml, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
