// A CPU emulation of the learnscope CUDA kernels, for machines without a GPU: CUDA's keywords
// are defined away, a launch is one thread whose grid-stride loop covers every element (block
// kernels are called once per block index), and each kernel is checked against a reference
// loop, an adjoint identity or finite differences. Built and run by the `cuda` tests
// (crates/nn/tests/it/cuda_kernels.rs) with the host C++ compiler on the generated source; what it
// cannot check is what needs a device: launch configurations, multi-thread reductions, NVRTC.
#include <cmath>
#include <cstring>
using std::exp; using std::tanh; using std::erf; using std::sqrt; using std::log1p; using std::fabs; using std::fmax; using std::log;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
struct D3 { unsigned x, y, z; };
static D3 blockIdx, blockDim, threadIdx, gridDim;
inline void __syncthreads() {}
inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }

#include "kernels.cu.inc"
#include <cstdio>
#include <vector>
#include <random>
#include <cassert>
typedef std::vector<double> V;
static std::mt19937_64 rng(42);
V randn(size_t n) { std::normal_distribution<double> d; V v(n); for (auto& x : v) x = d(rng); return v; }
void one() { gridDim.x = 1; blockDim.x = 1; blockIdx.x = 0; threadIdx.x = 0; }
double dotv(const V& a, const V& b) { double s = 0; for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i]; return s; }
int fails = 0;
void check(bool ok, const char* what) { if (!ok) { printf("FAIL %s\n", what); fails++; } }
LsGeo geo(u64 C, u64 H, u64 W, u64 kh, u64 kw, u64 sh, u64 sw, u64 ph, u64 pw, u64 OH, u64 OW) {
    LsGeo g = {{C, H, W, kh, kw, sh, sw, ph, pw, OH, OW, 0}}; return g; }
LsGeo pgeo(u64 H, u64 W, u64 OH, u64 OW, u64 kh, u64 kw, u64 sh, u64 sw, u64 ph, u64 pw) {
    LsGeo g = {{H, W, OH, OW, kh, kw, sh, sw, ph, pw, 0, 0}}; return g; }
int main() {
    one();
    struct Win { u64 kh, kw, sh, sw, ph, pw, N, C, H, W; };
    Win wins[] = {{3,3,1,1,1,1,3,4,9,8},{3,3,2,2,1,1,2,3,11,10},{2,2,2,2,0,0,2,5,8,8},{2,3,1,2,1,0,2,2,6,9},{1,1,1,1,0,0,3,6,5,5}};
    for (auto w : wins) {
        u64 OH = (w.H + 2*w.ph - w.kh)/w.sh + 1, OW = (w.W + 2*w.pw - w.kw)/w.sw + 1, P = OH*OW, rows = w.C*w.kh*w.kw;
        LsGeo g = geo(w.C, w.H, w.W, w.kh, w.kw, w.sh, w.sw, w.ph, w.pw, OH, OW);
        V x = randn(w.N*w.C*w.H*w.W);
        u64 first = 1, count = w.N - 1;
        // Backend::im2col layout: ld = count*P, e_stride = P.
        V cols(rows*count*P, 7.0);
        ls_im2col_f64(x.data(), g, first, count, count*P, P, cols.data());
        // Reference from spatial.rs: cols[(c*kh+i)*kw+j, e*P + oh*OW + ow] = x[first+e, c, oh*sh-ph+i, ow*sw-pw+j].
        bool ok = true;
        for (u64 e = 0; e < count; ++e) for (u64 c = 0; c < w.C; ++c) for (u64 i = 0; i < w.kh; ++i) for (u64 j = 0; j < w.kw; ++j)
        for (u64 oh = 0; oh < OH; ++oh) for (u64 ow = 0; ow < OW; ++ow) {
            long ih = (long)(oh*w.sh + i) - (long)w.ph, iw = (long)(ow*w.sw + j) - (long)w.pw;
            double v = (ih >= 0 && ih < (long)w.H && iw >= 0 && iw < (long)w.W) ? x[(((first+e)*w.C + c)*w.H + ih)*w.W + iw] : 0.0;
            if (cols[((c*w.kh+i)*w.kw+j)*count*P + e*P + oh*OW + ow] != v) ok = false;
        }
        check(ok, "im2col reference");
        // col2im is the adjoint: <im2col(x), r> = <x_sub, col2im(r)>.
        V r = randn(cols.size());
        V dx(x.size(), 3.0);
        ls_col2im_f64(r.data(), g, first, count, count*P, P, dx.data());
        V xs(x.begin() + first*w.C*w.H*w.W, x.end()), dxs(dx.begin() + first*w.C*w.H*w.W, dx.end());
        check(fabs(dotv(cols, r) - dotv(xs, dxs)) < 1e-9 * (1 + fabs(dotv(cols, r))), "col2im adjoint");
        bool untouched = true; for (u64 t = 0; t < first*w.C*w.H*w.W; ++t) if (dx[t] != 3.0) untouched = false;
        check(untouched, "col2im leaves other examples");
        // Conv layout e_stride = rows*P, ld = P: same values, per-example blocks.
        V cols2(rows*count*P);
        ls_im2col_f64(x.data(), g, first, count, P, rows*P, cols2.data());
        ok = true;
        for (u64 e = 0; e < count; ++e) for (u64 rr = 0; rr < rows; ++rr) for (u64 p = 0; p < P; ++p)
            if (cols2[e*rows*P + rr*P + p] != cols[rr*count*P + e*P + p]) ok = false;
        check(ok, "im2col conv layout");
        // Pooling (only windows with padding <= kernel/2).
        if (2*w.ph <= w.kh && 2*w.pw <= w.kw) {
            LsGeo pg = pgeo(w.H, w.W, OH, OW, w.kh, w.kw, w.sh, w.sw, w.ph, w.pw);
            u64 planes = w.N*w.C;
            V y(planes*P), arg(planes*P), ya(planes*P);
            ls_max_pool_forward_f64(x.data(), pg, planes, y.data(), arg.data());
            ls_avg_pool_forward_f64(x.data(), pg, planes, ya.data());
            bool okm = true, oka = true;
            for (u64 pl = 0; pl < planes; ++pl) for (u64 oh = 0; oh < OH; ++oh) for (u64 ow = 0; ow < OW; ++ow) {
                double best = -INFINITY, sum = 0; long at = -1;
                for (u64 i = 0; i < w.kh; ++i) for (u64 j = 0; j < w.kw; ++j) {
                    long ih = (long)(oh*w.sh + i) - (long)w.ph, iw = (long)(ow*w.sw + j) - (long)w.pw;
                    if (ih < 0 || ih >= (long)w.H || iw < 0 || iw >= (long)w.W) continue;
                    double v = x[pl*w.H*w.W + ih*w.W + iw];
                    sum += v;
                    if (v > best) { best = v; at = ih*w.W + iw; }
                }
                u64 o = pl*P + oh*OW + ow;
                if (y[o] != best || arg[o] != (double)at) okm = false;
                if (fabs(ya[o] - sum/(w.kh*w.kw)) > 1e-12) oka = false;
            }
            check(okm, "max pool forward");
            check(oka, "avg pool forward");
            V dy = randn(planes*P), dxm(x.size(), 5.0), dxa(x.size(), 5.0);
            ls_fill_f64(dxm.data(), 0.0, dxm.size());
            ls_max_pool_backward_f64(dy.data(), arg.data(), planes, w.H*w.W, P, dxm.data());
            // <maxpool(x + t·δ)…>: check scatter directly.
            V ref(x.size(), 0.0);
            for (u64 o = 0; o < planes*P; ++o) ref[(o / P)*w.H*w.W + (u64)arg[o]] += dy[o];
            bool okb = true; for (size_t t = 0; t < ref.size(); ++t) if (ref[t] != dxm[t]) okb = false;
            check(okb, "max pool backward");
            ls_avg_pool_backward_f64(dy.data(), pg, planes, dxa.data());
            check(fabs(dotv(ya, dy) - dotv(x, dxa)) < 1e-9 * (1 + fabs(dotv(ya, dy))), "avg pool adjoint");
        }
    }
    // Ties and NaN.
    {
        V x = {1, 1, 1, 0}; V y(1), a(1);
        ls_max_pool_forward_f64(x.data(), pgeo(2,2,1,1,2,2,2,2,0,0), 1, y.data(), a.data());
        check(a[0] == 0 && y[0] == 1, "ties keep the first");
        V xn = {1, NAN, 5, NAN};
        ls_max_pool_forward_f64(xn.data(), pgeo(2,2,1,1,2,2,2,2,0,0), 1, y.data(), a.data());
        check(a[0] == 3 && std::isnan(y[0]), "the last NaN wins");
    }
    // Reductions.
    {
        V a = randn(10000), b = randn(10000);
        V part(3);
        for (blockIdx.x = 0; blockIdx.x < 3; ++blockIdx.x) ls_dot_partial_f64(a.data(), b.data(), 10000, 4096, part.data());
        one();
        check(fabs(part[0] + part[1] + part[2] - dotv(a, b)) < 1e-9, "dot partials");
        u64 N = 6, C = 5, S = 12;
        V x = randn(N*C*S), mean(C), var(C), dz = randn(N*C*S), dg(C), db(C), cs(C);
        for (blockIdx.x = 0; blockIdx.x < C; ++blockIdx.x) {
            ls_bn_stats_f64(x.data(), N, C, S, mean.data(), var.data());
            ls_channel_sum_f64(x.data(), N, C, S, 0, cs.data());
        }
        bool ok = true;
        for (u64 c = 0; c < C; ++c) {
            double s = 0, q = 0; for (u64 e = 0; e < N; ++e) for (u64 k = 0; k < S; ++k) s += x[(e*C+c)*S+k];
            double mu = s/(N*S); for (u64 e = 0; e < N; ++e) for (u64 k = 0; k < S; ++k) q += (x[(e*C+c)*S+k]-mu)*(x[(e*C+c)*S+k]-mu);
            if (fabs(mean[c]-mu) > 1e-12 || fabs(var[c]-q/(N*S)) > 1e-12 || fabs(cs[c]-s) > 1e-10) ok = false;
        }
        check(ok, "bn stats / channel sum");
        V gamma = randn(C), beta = randn(C);
        for (blockIdx.x = 0; blockIdx.x < C; ++blockIdx.x)
            ls_bn_backward_reduce_f64(x.data(), dz.data(), mean.data(), var.data(), 1e-5, N, C, S, dg.data(), db.data());
        one();
        // Finite-difference check of dx (batch statistics): L = Σ dz ⊙ BN(x).
        V dx(x.size());
        ls_bn_backward_dx_f64(x.data(), dz.data(), mean.data(), var.data(), 1e-5, gamma.data(), 1, dg.data(), db.data(), C, S, (double)(N*S), dx.data(), x.size());
        auto L = [&](const V& xx) {
            V m(C), v(C), z(xx.size());
            for (blockIdx.x = 0; blockIdx.x < C; ++blockIdx.x) ls_bn_stats_f64(xx.data(), N, C, S, m.data(), v.data());
            one();
            ls_bn_forward_f64(xx.data(), m.data(), v.data(), 1e-5, gamma.data(), beta.data(), C, S, z.data(), 0, nullptr, xx.size());
            return dotv(z, dz);
        };
        bool okd = true;
        for (size_t t = 0; t < x.size(); t += 37) {
            V xp = x, xm = x; xp[t] += 1e-6; xm[t] -= 1e-6;
            double fd = (L(xp) - L(xm)) / 2e-6;
            if (fabs(fd - dx[t]) > 1e-6 * (1 + fabs(fd))) { okd = false; printf("bn dx %zu: fd %g vs %g\n", t, fd, dx[t]); }
        }
        check(okd, "bn backward dx (finite differences)");
        // dγ, dβ by finite differences in γ, β.
        bool okg = true;
        for (u64 c = 0; c < C; ++c) {
            V g0 = gamma; gamma[c] += 1e-6; double lp = L(x); gamma[c] -= 2e-6; double lm = L(x); gamma = g0;
            if (fabs((lp - lm)/2e-6 - dg[c]) > 1e-6) okg = false;
            V b0 = beta; beta[c] += 1e-6; lp = L(x); beta[c] -= 2e-6; lm = L(x); beta = b0;
            if (fabs((lp - lm)/2e-6 - db[c]) > 1e-6) okg = false;
        }
        check(okg, "bn dgamma/dbeta (finite differences)");
    }
    // Losses: gradient = finite difference of the loss.
    {
        u64 b = 5, c = 4; V f = randn(b*c); unsigned labels[5] = {0, 3, 1, 2, 3}; unsigned bin[5] = {0, 1, 1, 0, 1};
        V dense = randn(b*c);
        struct Case { int kind; double lambda; bool use_dense; u64 c; unsigned* lab; };
        Case cases[] = {{0,0,true,4,labels},{0,0,false,4,labels},{1,0,true,4,labels},{1,0.2,false,1,bin},{2,0,false,4,labels},{2,0.3,false,4,labels},{3,0,true,4,labels},{3,0,false,1,bin},{4,0,false,4,labels}};
        for (auto cs : cases) {
            u64 cc = cs.c; V ff(f.begin(), f.begin() + b*cc), g(b*cc), li(b);
            const double* dp = cs.use_dense ? dense.data() : nullptr;
            auto loss = [&](const V& x) { V gg(b*cc), l(b); ls_loss_f64(cs.kind, cs.lambda, 1.0/b, x.data(), b, cc, dp, cs.lab, gg.data(), l.data()); double t = 0; for (auto v : l) t += v; return t / b; };
            ls_loss_f64(cs.kind, cs.lambda, 1.0/b, ff.data(), b, cc, dp, cs.lab, g.data(), li.data());
            bool ok = true;
            for (size_t t = 0; t < ff.size(); ++t) {
                V p = ff, m = ff; p[t] += 1e-6; m[t] -= 1e-6;
                double fd = (loss(p) - loss(m)) / 2e-6;
                if (fabs(fd - g[t]) > 1e-5) { ok = false; printf("loss %d elt %zu: fd %g vs %g\n", cs.kind, t, fd, g[t]); }
            }
            check(ok, "loss gradient (finite differences)");
        }
    }
    // Activations: derivative = finite difference.
    {
        bool ok = true;
        for (int act = 0; act < 5; ++act) for (double z : {-2.1, -0.4, 0.3, 1.7}) {
            double y = ls_act<double>(act, z);
            double fd = (ls_act<double>(act, z + 1e-6) - ls_act<double>(act, z - 1e-6)) / 2e-6;
            if (fabs(fd - ls_act_deriv<double>(act, z, y)) > 1e-7) ok = false;
        }
        check(ok, "activation derivatives");
        check(fabs(ls_act<double>(4, 1.0) - 0.841344746068543) < 1e-12, "gelu(1)");
        check(std::isnan(ls_act<double>(1, NAN)) && ls_act<double>(1, -1.0) == 0.0 && ls_act<double>(1, 2.0) == 2.0, "relu keeps NaN");
    }
    // nop_to_onp, global avg.
    {
        u64 n = 3, O = 4, P = 5; V s = randn(n*O*P), d(n*O*P);
        ls_nop_to_onp_f64(s.data(), n, O, P, d.data());
        bool ok = true; for (u64 e = 0; e < n; ++e) for (u64 o = 0; o < O; ++o) for (u64 p = 0; p < P; ++p) if (d[o*n*P + e*P + p] != s[(e*O+o)*P+p]) ok = false;
        check(ok, "nop_to_onp");
        V y(n*O), dx(n*O*P), dy = randn(n*O);
        ls_global_avg_forward_f64(s.data(), n*O, P, y.data());
        ls_global_avg_backward_f64(dy.data(), P, dx.data(), dx.size());
        check(fabs(dotv(y, dy) - dotv(s, dx)) < 1e-12, "global avg adjoint");
    }
    // copy_columns: a block of 3 columns of a 4 × 5 matrix into columns 2..5 of a 4 × 7 one.
    {
        u64 rows = 4, a = 5, b = 7; V s = randn(rows*a), d(rows*b, -1.0);
        ls_copy_columns_f64(s.data(), a, 1, d.data(), b, 2, 3, rows*3);
        bool ok = true;
        for (u64 r = 0; r < rows; ++r) for (u64 c = 0; c < b; ++c) {
            double want = (c >= 2 && c < 5) ? s[r*a + 1 + (c-2)] : -1.0;
            if (d[r*b + c] != want) ok = false;
        }
        check(ok, "copy_columns");
    }
    printf("%s: %d failures\n", fails ? "FAILED" : "ok", fails);
    return fails != 0;
}
