using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// A decoder-only Transformer (GPT-2 layout):
/// <c>h₀ = E[idx] + P[0…T−1]</c>, <c>h_l = Block_l(h_{l−1})</c>, <c>logits = LN_f(h_L) Eᵀ</c>
/// (with rotary positions, P is absent and the positions enter each attention layer instead).
/// The output head reuses the token embedding E (weight tying), so E is one parameter, listed once.
/// </summary>
public sealed class Gpt : nn.Module<Tensor, Tensor>
{
    // Shape letters: B batch, T time, C n_embd, V vocab, nh heads, hs head size.
    public GptConfig Config { get; }
    readonly TokenEmbedding wte;
    readonly nn.Module<long, long, Tensor>? wpe;   // none with rotary positions, which act inside attention
    readonly Dropout drop;
    readonly ModuleList<Block> h;
    readonly LayerNorm ln_f;
    readonly CrossEntropy loss;

    /// <param name="seed">Seeds the initial weights; the same seed gives the same model.</param>
    public Gpt(GptConfig config, long seed = 1337) : base(nameof(Gpt))
    {
        Config = config;
        FusedKernels = config.Fused;
        using var g = new Generator((ulong)seed);
        wte = new TokenEmbedding(config.VocabSize, config.NEmbd, g);
        wpe = config.PositionEncoding switch
        {
            PositionEncoding.Learned => new LearnedPositionEmbedding(config.BlockSize, config.NEmbd, g),
            PositionEncoding.Sinusoidal => new SinusoidalPositionalEncoding(config.BlockSize, config.NEmbd),
            _ => null,
        };
        drop = new Dropout(config.Dropout, config.Fused);
        h = new ModuleList<Block>(Enumerable.Range(0, config.NLayer).Select(_ => new Block(config, g)).ToArray());
        ln_f = new LayerNorm(config.NEmbd, config.Bias, config.Fused, config.LayerNormEpsilon);
        loss = new CrossEntropy(config.Fused);
        RegisterComponents();
    }

    /// <summary>Logits for every position: idx (B, T) → (B, T, V).</summary>
    public override Tensor forward(Tensor idx) => Forward(idx, cache: null);

    /// <summary>
    /// With a cache, idx holds only the positions after those already cached; their keys and values are
    /// added to it and the logits of these positions come back. With <paramref name="lastOnly"/>, only the last
    /// position's logits are computed, (B, 1, V): sampling needs no others, and for a long prompt the output head
    /// over every position would cost more than the rest of the model; the last block's attention output and MLP run
    /// for that position alone too.
    /// </summary>
    public Tensor Forward(Tensor idx, KvCache? cache, bool lastOnly = false)
    {
        long T = idx.size(1), start = cache?.Length ?? 0;
        if (start + T > Config.BlockSize)
            throw new ArgumentException($"sequence of {start + T} tokens exceeds block_size {Config.BlockSize}");
        var tok = wte.call(idx);                                                // (B, T, C)
        var x = drop.call(wpe is null ? tok : tok + wpe.call(start, T));        // (B, T, C)
        // With lastOnly, the last block runs its queries, projections and MLP for the last position alone.
        for (int l = 0; l < h.Count; l++)
            x = h[l].Forward(x, cache?.Layers[l], lastOnly && l == h.Count - 1); // (B, T, C), the last (B, 1, C)
        x = ln_f.call(x);                                                       // (B, T, C)
        return wte.Unembed(x, ComputeDtype);                                    // (B, T, V)
    }

    /// <summary>
    /// Runs LayerNorm, GELU, attention and the loss as fused kernels (true) or as their explicit formulas (false),
    /// whatever the config said; sampling uses the fused ones. Dropout is left alone: at inference it does nothing.
    /// </summary>
    public void UseFusedKernels(bool fused)
    {
        foreach (var m in modules())
            switch (m)
            {
                case LayerNorm l: l.Fused = fused; break;
                case Gelu g: g.Fused = fused; break;
                case ScaledDotProductAttention a: a.Fused = fused; break;
                case CrossEntropy c: c.Fused = fused; break;
            }
        FusedKernels = fused;
    }

    /// <summary>Whether LayerNorm, GELU, attention and the loss run fused: the config's Fused until <see cref="UseFusedKernels"/>.</summary>
    public bool FusedKernels { get; private set; }

    /// <summary>Whether the products of a few rows (a decode step) read large weights in slices (<see cref="Linear.SliceRows"/>): for decoding a model too big for the cache on the CPU.</summary>
    public void UseSlicedRows(bool sliced)
    {
        foreach (var m in modules().OfType<Linear>()) m.SliceRows = sliced;
        wte.SliceRows = sliced;
    }

    /// <summary>What <see cref="UseSlicedRows"/> set last (false at first).</summary>
    public bool SlicedRows => wte.SliceRows;

    /// <summary>Mean cross-entropy of next-token prediction over all (B, T) positions; float32 under mixed precision.</summary>
    public Tensor Loss(Tensor logits, Tensor targets)
        => loss.call(ComputeDtype is null ? logits : logits.to(float32), targets);   // ()

    /// <summary>
    /// Mixed precision by hand (TorchSharp has no autocast): every matrix product runs in
    /// <paramref name="dtype"/> (bfloat16), while parameters, LayerNorm, the residual stream and the loss stay
    /// float32. Null returns to plain float32.
    /// </summary>
    public void UseComputeDtype(ScalarType? dtype)
    {
        ComputeDtype = dtype;
        foreach (var m in modules().OfType<Linear>()) (m.ComputeDtype, m.ComputeWeight) = (dtype, null);
        wte.ComputeWeight = null;
    }

    /// <summary>
    /// Under mixed precision, hands each matrix product its weight already in the compute dtype
    /// (<paramref name="copyOf"/> gives it for a parameter, or null to keep casting that one).
    /// </summary>
    public void UseComputeWeights(Func<Parameter, Tensor?> copyOf)
    {
        if (ComputeDtype is null) throw new InvalidOperationException("compute weights need a compute dtype; call UseComputeDtype first");
        foreach (var m in modules().OfType<Linear>()) m.ComputeWeight = copyOf(m.weight);
        wte.ComputeWeight = copyOf(wte.weight);
    }

    public ScalarType? ComputeDtype { get; private set; }

    /// <summary>Each trainable parameter once, in registration order (the tied E appears as wte.weight).</summary>
    public IReadOnlyList<(string Name, Parameter Param)> UniqueParameters()
    {
        var seen = new HashSet<IntPtr>();
        return named_parameters().Where(p => seen.Add(p.parameter.Handle)).Select(p => (p.name, p.parameter)).ToList();
    }

    /// <summary>The number of trainable scalars, position embedding included.</summary>
    public long ParameterCount => UniqueParameters().Sum(p => p.Param.numel());
}
