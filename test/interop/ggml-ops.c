// One layer's operations computed by llama.cpp's own ggml CPU library (node-llama-cpp's prebuilt
// libggml-base.so and one libggml-cpu-<variant>.so, loaded with dlopen), on inputs the test gives,
// so that test/interop/ggml-numerics.test.ts can compare the runner's llama.cpp numerics with ggml
// operation by operation, bit for bit.
//
// ggml-ops <libggml-base.so> <libggml-cpu.so> <model.gguf> <in.bin> <out.bin> <layer> <eps> <H> <F> <Q> <KV> <V> <S> <headDim> <pos> <ropeBase>
// in.bin, float32 arrays in order: attnIn[H] attnOut[Q] ffnIn[H] gate[F] up[F] act[F] outIn[H] head2[2H] scores[S] mask[S] rope[Q]
// out.bin, float32 arrays in order: attnNormed[H] q[Q] k[KV] v[KV] attnSubNormed[Q] o[H] ffnNormed[H] gate[F] up[F] swiglu[F]
//   ffnSubNormed[F] down[H] outNormed[H] head1[V] head2[2V] softmax[S] roped[Q]
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ggml_init_params {
  size_t mem_size;
  void *mem_buffer;
  bool no_alloc;
};
struct gguf_init_params {
  bool no_alloc;
  void **ctx;
};
enum { TYPE_F32 = 0, TYPE_I32 = 26, ROPE_NEOX = 2 };

typedef void *(*init_fn)(struct ggml_init_params);
typedef void *(*gguf_init_fn)(const char *, struct gguf_init_params);
typedef void *(*get_tensor_fn)(void *, const char *);
typedef void *(*new_1d_fn)(void *, int, int64_t);
typedef void *(*new_2d_fn)(void *, int, int64_t, int64_t);
typedef void *(*new_3d_fn)(void *, int, int64_t, int64_t, int64_t);
typedef void *(*rms_norm_fn)(void *, void *, float);
typedef void *(*binary_fn)(void *, void *, void *);
typedef void *(*soft_max_fn)(void *, void *, void *, float, float);
typedef void *(*rope_fn)(void *, void *, void *, void *, int, int, int, float, float, float, float, float, float);
typedef void *(*graph_fn)(void *);
typedef void (*expand_fn)(void *, void *);
typedef int (*compute_fn)(void *, void *, int);
typedef void *(*data_fn)(void *);
typedef void (*cpu_init_fn)(void);

static void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (p == NULL) {
    fprintf(stderr, "missing symbol %s\n", name);
    exit(1);
  }
  return p;
}

static data_fn data;
static new_1d_fn new_1d;

static void *input(void *ctx, FILE *in, int64_t n) {
  void *t = new_1d(ctx, TYPE_F32, n);
  if (fread(data(t), sizeof(float), (size_t)n, in) != (size_t)n) {
    fprintf(stderr, "in.bin is short\n");
    exit(1);
  }
  return t;
}

int main(int argc, char **argv) {
  if (argc != 17) {
    fprintf(stderr, "usage: ggml-ops base.so cpu.so model.gguf in.bin out.bin layer eps H F Q KV V S headDim pos ropeBase\n");
    return 2;
  }
  void *base = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  void *cpu = base == NULL ? NULL : dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
  if (base == NULL || cpu == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  init_fn ggml_init = (init_fn)sym(base, "ggml_init");
  gguf_init_fn gguf_init = (gguf_init_fn)sym(base, "gguf_init_from_file");
  get_tensor_fn get = (get_tensor_fn)sym(base, "ggml_get_tensor");
  new_1d = (new_1d_fn)sym(base, "ggml_new_tensor_1d");
  new_2d_fn new_2d = (new_2d_fn)sym(base, "ggml_new_tensor_2d");
  new_3d_fn new_3d = (new_3d_fn)sym(base, "ggml_new_tensor_3d");
  rms_norm_fn rms_norm = (rms_norm_fn)sym(base, "ggml_rms_norm");
  binary_fn mul = (binary_fn)sym(base, "ggml_mul"), mul_mat = (binary_fn)sym(base, "ggml_mul_mat");
  binary_fn swiglu = (binary_fn)sym(base, "ggml_swiglu_split");
  soft_max_fn soft_max = (soft_max_fn)sym(base, "ggml_soft_max_ext");
  rope_fn rope = (rope_fn)sym(base, "ggml_rope_ext");
  graph_fn new_graph = (graph_fn)sym(base, "ggml_new_graph");
  expand_fn expand = (expand_fn)sym(base, "ggml_build_forward_expand");
  data = (data_fn)sym(base, "ggml_get_data");
  compute_fn compute = (compute_fn)sym(cpu, "ggml_graph_compute_with_ctx");
  ((cpu_init_fn)sym(cpu, "ggml_cpu_init"))();

  void *weights = NULL;
  struct gguf_init_params gp = {false, &weights};
  if (gguf_init(argv[3], gp) == NULL) {
    fprintf(stderr, "cannot read %s\n", argv[3]);
    return 1;
  }
  const int layer = atoi(argv[6]);
  const float eps = strtof(argv[7], NULL);
  const int64_t H = atoll(argv[8]), F = atoll(argv[9]), Q = atoll(argv[10]), KV = atoll(argv[11]), V = atoll(argv[12]), S = atoll(argv[13]);
  const int hd = atoi(argv[14]), pos = atoi(argv[15]);
  const float rope_base = strtof(argv[16], NULL);
  (void)KV;

  struct ggml_init_params ip = {(size_t)256 << 20, NULL, false};
  void *ctx = ggml_init(ip);
  FILE *in = fopen(argv[4], "rb");
  if (in == NULL) return 1;
  void *attn_in = input(ctx, in, H), *attn_out = input(ctx, in, Q), *ffn_in = input(ctx, in, H);
  void *gate_in = input(ctx, in, F), *up_in = input(ctx, in, F), *act = input(ctx, in, F), *out_in = input(ctx, in, H);
  void *head2_in = new_2d(ctx, TYPE_F32, H, 2);
  if (fread(data(head2_in), sizeof(float), (size_t)(2 * H), in) != (size_t)(2 * H)) return 1;
  void *scores = input(ctx, in, S), *mask = input(ctx, in, S);
  void *rope_in = new_3d(ctx, TYPE_F32, hd, Q / hd, 1);
  if (fread(data(rope_in), sizeof(float), (size_t)Q, in) != (size_t)Q) return 1;
  fclose(in);

  char name[128];
#define W(s) (snprintf(name, sizeof name, "blk.%d.%s.weight", layer, s), get(weights, name))
  void *attn_normed = mul(ctx, rms_norm(ctx, attn_in, eps), W("attn_norm"));
  void *ffn_normed = mul(ctx, rms_norm(ctx, ffn_in, eps), W("ffn_norm"));
  void *out_normed = mul(ctx, rms_norm(ctx, out_in, eps), get(weights, "output_norm.weight"));
  void *head = get(weights, "output.weight");
  if (head == NULL) head = get(weights, "token_embd.weight");
  void *positions = new_1d(ctx, TYPE_I32, 1);
  ((int32_t *)data(positions))[0] = pos;
  void *outs[] = {
      attn_normed,
      mul_mat(ctx, W("attn_q"), attn_normed),
      mul_mat(ctx, W("attn_k"), attn_normed),
      mul_mat(ctx, W("attn_v"), attn_normed),
      mul(ctx, rms_norm(ctx, attn_out, eps), W("attn_sub_norm")),
      mul_mat(ctx, W("attn_output"), attn_out),
      ffn_normed,
      mul_mat(ctx, W("ffn_gate"), ffn_normed),
      mul_mat(ctx, W("ffn_up"), ffn_normed),
      swiglu(ctx, gate_in, up_in),
      mul(ctx, rms_norm(ctx, act, eps), W("ffn_sub_norm")),
      mul_mat(ctx, W("ffn_down"), act),
      out_normed,
      mul_mat(ctx, head, out_in),
      mul_mat(ctx, head, head2_in),
      soft_max(ctx, scores, mask, 1.0f / __builtin_sqrtf((float)hd), 0.0f),
      rope(ctx, rope_in, positions, NULL, hd, ROPE_NEOX, 4096, rope_base, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f),
  };
  const int64_t sizes[] = {H, Q, KV, KV, Q, H, H, F, F, F, F, H, H, V, 2 * V, S, Q};
  const int count = (int)(sizeof outs / sizeof outs[0]);
  void *graph = new_graph(ctx);
  for (int i = 0; i < count; i++) {
    if (outs[i] == NULL) {
      fprintf(stderr, "output %d: a tensor is missing from the model\n", i);
      return 1;
    }
    expand(graph, outs[i]);
  }
  if (compute(ctx, graph, 1) != 0) {
    fprintf(stderr, "graph compute failed\n");
    return 1;
  }
  FILE *out = fopen(argv[5], "wb");
  if (out == NULL) return 1;
  for (int i = 0; i < count; i++) fwrite(data(outs[i]), sizeof(float), (size_t)sizes[i], out);
  fclose(out);
  return 0;
}
