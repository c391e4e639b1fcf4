"""Which reading of the thesis's Fashion-MNIST CNN trains better? Three variants, same seed, same data.
usage: readings.py VARIANT EPOCHS   (VARIANT: preact | postact | stride1 | postact-stride1)"""
import gzip, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist/"
def idx(name, off):
    with gzip.open(D + name) as f: return np.frombuffer(f.read(), np.uint8, offset=off)
xtr = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
variant, epochs = sys.argv[1], int(sys.argv[2])
post = variant.startswith("postact"); stride = 1 if variant.endswith("stride1") else 2
class Block(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c1, s.c2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        s.b1, s.b2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
    def forward(s, y):
        if post: f = torch.sigmoid(s.b2(s.c2(torch.sigmoid(s.b1(s.c1(y))))))
        else: f = s.c2(torch.sigmoid(s.b2(s.c1(torch.sigmoid(s.b1(y))))))
        return y + 1.0 * f
torch.manual_seed(1)
layers = [nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.Sigmoid()]
c, size = 16, 28
for g, w in enumerate((16, 32)):
    st = 1 if g == 0 else stride
    layers += [nn.Conv2d(c, w, 3, stride=st, padding=1, bias=False), nn.BatchNorm2d(w), nn.Sigmoid()]
    layers += [Block(w) for _ in range(3)]
    c = w; size = (size - 1) // st + 1
layers += [nn.Flatten(), nn.Linear(c * size * size, 10)]
net = nn.Sequential(*layers)
opt = torch.optim.Adam(net.parameters(), lr=0.005)
g = torch.Generator().manual_seed(2)
for e in range(1, epochs + 1):
    t0 = time.time(); net.train(); perm = torch.randperm(60000, generator=g); tot = 0.0; n = 0
    for i in range(0, 60000, 1024):
        b = perm[i:i + 1024]
        loss = F.cross_entropy(net(xtr[b]), ytr[b])
        opt.zero_grad(); loss.backward(); opt.step(); tot += loss.item() * len(b); n += len(b)
    net.eval(); correct = 0
    with torch.no_grad():
        for i in range(0, 10000, 1000): correct += (net(xte[i:i+1000]).argmax(1) == yte[i:i+1000]).sum().item()
    print(f"{variant} epoch {e} train loss {tot/n:.4f} test accuracy {correct/100:.2f} % ({time.time()-t0:.0f} s)", flush=True)
