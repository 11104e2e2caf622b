// Logits from llama.cpp itself (node-llama-cpp's prebuilt libllama and ggml CPU libraries): the
// prompt decoded as one batch, then each further token alone, as llama.cpp generates. Writes the
// logits after the prompt and after each further token, float32, to stdout.
//
// llama-logits <model.gguf> <threads> <context> <prompt length> <token>...   (BINS: the libraries' folder)
#include <stdio.h>
#include <stdlib.h>
#include "ggml-backend.h"
#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
  (void)user;
  if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
  if (argc < 6 || getenv("BINS") == NULL) {
    fprintf(stderr, "usage: BINS=<folder> llama-logits model.gguf threads context prompt-length token...\n");
    return 2;
  }
  llama_log_set(quiet, NULL);
  llama_backend_init();
  ggml_backend_load_all_from_path(getenv("BINS"));
  struct llama_model_params mp = llama_model_default_params();
  struct llama_model *model = llama_model_load_from_file(argv[1], mp);
  if (model == NULL) return 1;
  struct llama_context_params cp = llama_context_default_params();
  cp.n_threads = cp.n_threads_batch = atoi(argv[2]);
  cp.n_ctx = (uint32_t)atoi(argv[3]);
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  struct llama_context *ctx = llama_init_from_model(model, cp);
  if (ctx == NULL) return 1;
  const int prompt = atoi(argv[4]), n = argc - 5;
  llama_token *tokens = malloc(sizeof(llama_token) * (size_t)n);
  for (int i = 0; i < n; i++) tokens[i] = atoi(argv[5 + i]);
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  for (int at = 0; at < n; at = at == 0 ? prompt : at + 1) {
    const int count = at == 0 ? prompt : 1;
    if (llama_decode(ctx, llama_batch_get_one(tokens + at, count)) != 0) return 3;
    fwrite(llama_get_logits_ith(ctx, -1), sizeof(float), (size_t)vocab, stdout);
  }
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
