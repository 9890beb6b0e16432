using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// <see cref="Gpt.Forward"/> with a KV cache, for one sample's new position at a time, in plain C# on float32 arrays:
/// <c>x = E[id] + P[t]</c>; per block <c>x += c_proj(Attention(LN₁(x)))</c>, <c>x += MLP(LN₂(x))</c>; then
/// <c>logits = LN_f(x) Eᵀ</c>, with the same LayerNorm, rotary, causal softmax and GELU formulas as the modules.
/// For a small model on the CPU, where each of a step's hundred-odd TorchSharp calls costs more than its arithmetic
/// (docs/benchmarks.md). Its logits are tested equal to the modules' forward. The weights are copied when it is
/// made, so it decodes the model as it was then.
/// </summary>
public sealed class CpuDecoder
{
    sealed record Layer(float[] Ln1W, float[]? Ln1B, float[] AttnW, float[]? AttnB, float[] ProjW, float[]? ProjB,
                        float[] Ln2W, float[]? Ln2B, float[] FcW, float[]? FcB, float[] OutW, float[]? OutB);

    readonly GptConfig c;
    readonly int capacity;
    readonly float[] wte, lnfW;                 // (V, C), (C)
    readonly float[]? lnfB, positions;          // (C), (capacity, C): learned or sinusoidal rows
    readonly float[]? cos, sin;                 // (capacity, hs/2): rotary
    readonly Layer[] layers;
    readonly float[][] keys, values;            // per layer: (positions, C), grown as they are reached
    readonly float[] x, h, qkv, y, fc, scores;  // one position's activations

    // Straight to optimised code: Vector<float> keeps these out of the precompiled image, and the JIT's first tier
    // ran a step at a third of the speed until it had replaced them.
    const MethodImplOptions Hot = MethodImplOptions.AggressiveOptimization;

    /// <summary>Positions its cache holds.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// The largest vocabulary it is meant for: with 50,257 tokens or more its head, one dot product per row, trailed
    /// MKL's product by 5–10 % (docs/benchmarks.md); with 8,192 it was still ahead.
    /// </summary>
    public const int MaxVocab = 8192;

    /// <summary>Whether the model can be decoded here: float32 weights on the CPU, without a compute dtype.</summary>
    public static bool Supports(Gpt model)
        => model.ComputeDtype is null && model.parameters().All(p => p.device_type == DeviceType.CPU && p.dtype == ScalarType.Float32);

    /// <param name="capacity">The most positions its cache will hold, at most block_size.</param>
    public CpuDecoder(Gpt model, int capacity)
    {
        if (!Supports(model)) throw new ArgumentException("the CPU decoder needs float32 weights on the CPU");
        (c, this.capacity) = (model.Config, Math.Clamp(capacity, 1, model.Config.BlockSize));
        using var scope = NewDisposeScope();
        var w = model.state_dict().ToDictionary(p => p.Key, p => p.Value);
        float[] Get(string name) => Floats(w[name]);
        float[]? Maybe(string name) => w.ContainsKey(name) ? Get(name) : null;
        int C = c.NEmbd, rows = this.capacity;
        wte = Get("wte.weight");
        (lnfW, lnfB) = (Get("ln_f.weight"), Maybe("ln_f.bias"));
        positions = c.PositionEncoding switch
        {
            PositionEncoding.Learned => Floats(w["wpe.weight"].narrow(0, 0, rows)),
            PositionEncoding.Sinusoidal => Floats(SinusoidalPositionalEncoding.Table(rows, C, ScalarType.Float32)),
            _ => null,
        };
        if (c.PositionEncoding == PositionEncoding.Rotary) (cos, sin) = RotaryRows(rows, c.HeadSize);
        layers = Enumerable.Range(0, c.NLayer).Select(l => $"h.{l}.").Select(p => new Layer(
            Get(p + "ln_1.weight"), Maybe(p + "ln_1.bias"), Get(p + "attn.c_attn.weight"), Maybe(p + "attn.c_attn.bias"),
            Get(p + "attn.c_proj.weight"), Maybe(p + "attn.c_proj.bias"), Get(p + "ln_2.weight"), Maybe(p + "ln_2.bias"),
            Get(p + "mlp.c_fc.weight"), Maybe(p + "mlp.c_fc.bias"), Get(p + "mlp.c_proj.weight"), Maybe(p + "mlp.c_proj.bias"))).ToArray();
        keys = new float[c.NLayer][];
        values = new float[c.NLayer][];
        (x, h, qkv, y, fc, scores) = (new float[C], new float[C], new float[3 * C], new float[C], new float[c.MlpWidth], new float[rows]);
    }

    /// <summary>A float32 CPU tensor's values in row-major order, in one block copy (TorchSharp's accessor reads one element at a time).</summary>
    static float[] Floats(Tensor t)
    {
        using var dense = t.contiguous();
        return MemoryMarshal.Cast<byte, float>(dense.bytes).ToArray();
    }

    /// <summary>RotaryEmbedding's own tables, their halves that differ: cos mθ_i and sin mθ_i, (rows, hs/2) each.</summary>
    static (float[] Cos, float[] Sin) RotaryRows(int rows, int hs)
    {
        var (cs, sn) = RotaryEmbedding.Tables(rows, hs, RotaryEmbedding.Theta, ScalarType.Float32, CPU);   // (rows, hs): [cos, cos], [−sin, sin]
        using (cs) using (sn) return (Floats(cs.narrow(1, 0, hs / 2)), Floats(sn.narrow(1, hs / 2, hs / 2)));
    }

    /// <summary>Takes the keys and values the modules put in <paramref name="cache"/> (a prompt's, in one pass) as its own.</summary>
    public void Load(KvCache cache)
    {
        int C = c.NEmbd, T = (int)cache.Length;
        if (T > capacity) throw new ArgumentException($"{T} positions exceed the decoder's capacity {capacity}");
        using var scope = NewDisposeScope();
        for (int l = 0; l < layers.Length; l++)
        {
            var (K, V) = cache.Layers[l].Held;                                          // (1, nh, T, hs)
            Floats(K[0].transpose(0, 1)).CopyTo(Grown(keys, l, T - 1), 0);             // (T, nh, hs) = (T, C)
            Floats(V[0].transpose(0, 1)).CopyTo(Grown(values, l, T - 1), 0);           // (T, C)
        }
        Length = T;
    }

    /// <summary>Feeds <paramref name="id"/> at position <see cref="Length"/>, and writes the logits (V) for the next.</summary>
    [MethodImpl(Hot)]
    public void Step(int id, Span<float> logits)
    {
        int C = c.NEmbd, V = c.VocabSize, t = Length;
        if ((uint)id >= (uint)V) throw new ArgumentOutOfRangeException(nameof(id), $"id {id} is outside the vocabulary of {V}");
        if (t >= capacity) throw new InvalidOperationException($"the cache holds its {capacity} positions");
        wte.AsSpan(id * C, C).CopyTo(x);
        if (positions is not null) Add(x, positions.AsSpan(t * C, C));
        for (int l = 0; l < layers.Length; l++) Block(layers[l], l, t);
        LayerNorm(x, lnfW, lnfB, h);
        MatVec(wte, h, null, logits[..V]);   // the tied head: E h
        Length++;
    }

    [MethodImpl(Hot)]
    void Block(Layer p, int cache, int t)
    {
        int C = c.NEmbd, nh = c.NHead, hs = c.HeadSize;
        LayerNorm(x, p.Ln1W, p.Ln1B, h);
        MatVec(p.AttnW, h, p.AttnB, qkv);                                       // [q | k | v], each (nh, hs)
        if (cos is not null) for (int head = 0; head < 2 * nh; head++) Rotate(qkv.AsSpan(head * hs, hs), t);
        var (K, V) = (Grown(keys, cache, t), Grown(values, cache, t));
        qkv.AsSpan(C, C).CopyTo(K.AsSpan(t * C, C));
        qkv.AsSpan(2 * C, C).CopyTo(V.AsSpan(t * C, C));
        float scale = 1 / MathF.Sqrt(hs);
        for (int head = 0; head < nh; head++)
        {
            var q = qkv.AsSpan(head * hs, hs);
            float max = float.NegativeInfinity, sum = 0;
            for (int j = 0; j <= t; j++) max = Math.Max(max, scores[j] = Dot(q, K.AsSpan(j * C + head * hs, hs)) * scale);
            for (int j = 0; j <= t; j++) sum += scores[j] = MathF.Exp(scores[j] - max);
            var o = y.AsSpan(head * hs, hs);
            o.Clear();
            for (int j = 0; j <= t; j++) Axpy(scores[j] / sum, V.AsSpan(j * C + head * hs, hs), o);   // softmax-weighted values
        }
        MatVec(p.ProjW, y, p.ProjB, h);
        Add(x, h);                                                              // x += Attention(LN₁(x))
        LayerNorm(x, p.Ln2W, p.Ln2B, h);
        MatVec(p.FcW, h, p.FcB, fc);
        for (int i = 0; i < fc.Length; i++) fc[i] = Gelu(fc[i]);
        MatVec(p.OutW, fc, p.OutB, h);
        Add(x, h);                                                              // x += MLP(LN₂(x))
    }

    /// <summary>The cache of one layer, with room for position t: doubled when reached, up to capacity.</summary>
    float[] Grown(float[][] caches, int cache, int t)
    {
        int C = c.NEmbd;
        var a = caches[cache] ??= new float[Math.Min(capacity, 256) * C];
        if ((t + 1) * C > a.Length) Array.Resize(ref caches[cache], Math.Min(capacity, Math.Max(t + 1, 2 * a.Length / C)) * C);
        return caches[cache];
    }

    /// <summary>Rotary's half-split turn at position t: <c>[x₁, x₂] ↦ [x₁ cos − x₂ sin, x₂ cos + x₁ sin]</c>.</summary>
    [MethodImpl(Hot)]
    void Rotate(Span<float> v, int t)
    {
        int half = v.Length / 2;
        for (int i = 0; i < half; i++)
        {
            float cs = cos![t * half + i], sn = sin![t * half + i], x1 = v[i], x2 = v[i + half];
            (v[i], v[i + half]) = (x1 * cs - x2 * sn, x2 * cs + x1 * sn);
        }
    }

    /// <summary><c>γ ⊙ (x − μ) / √(σ² + ε) + β</c>, σ² biased.</summary>
    [MethodImpl(Hot)]
    void LayerNorm(ReadOnlySpan<float> v, float[] gain, float[]? bias, Span<float> into)
    {
        float mean = 0, var = 0;
        foreach (var e in v) mean += e;
        mean /= v.Length;
        foreach (var e in v) var += (e - mean) * (e - mean);
        float r = 1 / MathF.Sqrt(var / v.Length + (float)c.LayerNormEpsilon);
        for (int i = 0; i < v.Length; i++) into[i] = (v[i] - mean) * r * gain[i] + (bias?[i] ?? 0);
    }

    /// <summary>GELU exact, <c>x Φ(x) = ½ x erfc(−x/√2)</c>, or its tanh approximation, as the config says.</summary>
    float Gelu(float v) => c.Activation == Activation.GeluTanh
        ? 0.5f * v * (1 + MathF.Tanh(MathF.Sqrt(2 / MathF.PI) * (v + 0.044715f * v * v * v)))
        : (float)(0.5 * v * Erfc(-v / Math.Sqrt(2)));

    /// <summary>erfc to a relative error below 1.2·10⁻⁷ (Numerical Recipes' Chebyshev fit): .NET has no erf.</summary>
    static double Erfc(double v)
    {
        double z = Math.Abs(v), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                   + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return v >= 0 ? r : 2 - r;
    }

    /// <summary><c>into = W v + b</c> for W (rows, v.Length), row-major as Linear keeps it.</summary>
    [MethodImpl(Hot)]
    static void MatVec(float[] w, ReadOnlySpan<float> v, float[]? bias, Span<float> into)
    {
        int n = v.Length;
        for (int o = 0; o < into.Length; o++) into[o] = Dot(w.AsSpan(o * n, n), v) + (bias?[o] ?? 0);
    }

    [MethodImpl(Hot)]
    static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, width = Vector<float>.Count;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        Vector<float> s0 = Vector<float>.Zero, s1 = Vector<float>.Zero;
        int k = 0;
        for (; k + 1 < va.Length; k += 2) { s0 += va[k] * vb[k]; s1 += va[k + 1] * vb[k + 1]; }
        if (k < va.Length) s0 += va[k] * vb[k];
        float sum = Vector.Sum(s0 + s1);
        for (int i = va.Length * width; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    [MethodImpl(Hot)]
    static void Add(Span<float> into, ReadOnlySpan<float> v)
    {
        for (int i = 0; i < into.Length; i++) into[i] += v[i];
    }

    [MethodImpl(Hot)]
    static void Axpy(float a, ReadOnlySpan<float> v, Span<float> into)
    {
        for (int i = 0; i < into.Length; i++) into[i] += a * v[i];
    }
}
