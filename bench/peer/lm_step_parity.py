# Replays the recipes' training step (bench/step-parity.ts) in PyTorch: the twin of lm_train_peer.py
# (its model code, read from there) loads the tfjs model's initial weights, runs
# the same batches, and prints each step's loss beside ours and the largest weight difference after
# the last step, and the first batch's gradient beside ours. usage: python lm_step_parity.py DIR [cpu|cuda] [matrices|all]
import json, os, sys
import torch, torch.nn.functional as F
from safetensors.torch import load_file

d = sys.argv[1]
meta = json.load(open(os.path.join(d, 'steps.json')))
s = meta['shape']
sys.argv = ['lm_train_peer.py', '--device', 'cpu', '--hidden', str(s['hidden']), '--ffn', str(s['ffn']), '--layers', str(s['layers']),
            '--heads', str(s['heads']), '--kv', str(s['kv'])]
# the twin's definitions: its file up to where it builds and trains a model
source = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lm_train_peer.py')).read()
peer = {}
exec(source[: source.index('\nm = LM().to(dev)')], peer)

ROLES = {'attn_norm': 'n1.g', 'attn_sub_norm': 'sub1.g', 'ffn_norm': 'n2.g', 'ffn_sub_norm': 'sub2.g', 'attn_q': 'q.weight', 'attn_k': 'k.weight',
         'attn_v': 'v.weight', 'attn_output': 'o.weight', 'ffn_gate': 'g.weight', 'ffn_up': 'u.weight', 'ffn_down': 'd.weight'}

def torch_name(key):
    layer, var = key.split('/')
    if layer == 'token_embd': return 'emb.weight'
    if layer == 'output_norm': return 'norm.g'
    _, i, role = layer.split('.')
    return f'blocks.{i}.{ROLES[role]}'

def to_torch(key, t):  # tfjs Dense kernels are [in, out]
    return t.T.contiguous() if key.endswith('/kernel') else t

def load(m, path):
    sd = {torch_name(k): to_torch(k, v) for k, v in load_file(path).items()}
    missing = set(dict(m.named_parameters())) - set(sd)
    assert not missing, f'no tfjs weight for {sorted(missing)}'
    m.load_state_dict(sd, strict=True)
    return sd

m = peer['LM']()
load(m, os.path.join(d, 'init.safetensors'))
dev = torch.device(sys.argv[2] if len(sys.argv) > 2 else 'cpu')
m.to(dev)
B, T = meta['batchShape']
def batch(st): return torch.tensor(st['tokens']).view(B, T).to(dev), torch.tensor(st['labels']).view(B, T).to(dev)
# the gradient at the initial weights on the first batch, before any step
x, y = batch(meta['steps'][0])
F.cross_entropy(m(x).flatten(0, 1), y.flatten()).backward()
ours0 = {torch_name(k): to_torch(k, v).to(dev) for k, v in load_file(os.path.join(d, 'grads0.safetensors')).items()}
grad0 = sorted(((n, float((p.grad - ours0[n]).abs().max() / ours0[n].abs().max())) for n, p in m.named_parameters()), key=lambda kv: -kv[1])
m.zero_grad(set_to_none=True)
# ours decays matrices only (src/train/optimizer.ts); lm_train_peer.py decays every parameter ('all')
decay_all = len(sys.argv) > 3 and sys.argv[3] == 'all'
groups = [{'params': [p for p in m.parameters() if decay_all or p.dim() >= 2], 'weight_decay': meta['weightDecay']},
          {'params': [p for p in m.parameters() if not decay_all and p.dim() < 2], 'weight_decay': 0.0}]
opt = torch.optim.AdamW(groups, lr=meta['lr'], betas=(0.9, 0.95))
rows = []
for st in meta['steps']:
    x, y = batch(st)
    loss = F.cross_entropy(m(x).flatten(0, 1), y.flatten())
    opt.zero_grad(set_to_none=True); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), meta['gradClip']); opt.step()
    rows.append({'ours': st['loss'], 'torch': float(loss.detach())})
final = {torch_name(k): to_torch(k, v).to(dev) for k, v in load_file(os.path.join(d, 'final.safetensors')).items()}
diffs = {n: float((p.detach() - final[n]).abs().max() / final[n].abs().max()) for n, p in m.named_parameters()}
worst = sorted(diffs.items(), key=lambda kv: -kv[1])[:8]
print(json.dumps({'worstRelativeGrad0Diff': grad0[:8], 'steps': rows, 'worstRelativeWeightDiff': worst}))
