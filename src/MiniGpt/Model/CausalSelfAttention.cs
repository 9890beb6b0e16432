using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Multi-head causal self-attention (FORMULAS §4): <c>MultiHead(X) = Concat(head_1, …, head_h) Wᴼ</c>,
/// <c>head_i = Attention(X W_iQ, X W_iK, X W_iV)</c>. The three projections of every head are one fused
/// linear layer <c>c_attn</c> (C → 3C); <c>c_proj</c> is Wᴼ, followed by residual dropout.
/// </summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    readonly Linear c_attn;
    readonly Linear c_proj;
    readonly ScaledDotProductAttention attention;
    readonly Dropout resid_dropout;
    readonly RotaryEmbedding? rotary;
    readonly int nHead;

    public CausalSelfAttention(GptConfig config, Generator? generator = null) : base(nameof(CausalSelfAttention))
    {
        nHead = config.NHead;
        c_attn = new Linear(config.NEmbd, 3 * config.NEmbd, config.Bias, 0.02, generator);
        c_proj = new Linear(config.NEmbd, config.NEmbd, config.Bias, config.ResidualInitStd, generator);
        attention = new ScaledDotProductAttention(causal: true, config.Dropout, config.Fused);
        resid_dropout = new Dropout(config.Dropout, config.Fused);
        if (config.PositionEncoding == PositionEncoding.Rotary) rotary = new RotaryEmbedding(config.HeadSize, config.BlockSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, cache: null);

    /// <summary>
    /// With a cache, x holds only the new positions; their keys and values are appended to it. With
    /// <paramref name="lastOnly"/>, only the last position queries, and its output alone comes back, (B, 1, C).
    /// </summary>
    public Tensor Forward(Tensor x, LayerKvCache? cache, bool lastOnly = false)
    {
        long B = x.size(0), T = x.size(1), C = x.size(2), nh = nHead, hs = C / nh;
        // Q, K and V side by side are 3·nh heads; with rotary positions, Q and K (the first 2·nh) turn in one call.
        var heads = c_attn.call(x).view(B, T, 3 * nh, hs).transpose(1, 2);     // (B, 3nh, T, hs)
        var qk = heads.narrow(1, 0, 2 * nh);                                    // (B, 2nh, T, hs)
        if (rotary is not null) qk = rotary.call(qk, cache?.Length ?? 0);       // (B, 2nh, T, hs)
        var q = qk.narrow(1, 0, nh);                                            // (B, nh, T, hs)
        var k = qk.narrow(1, nh, nh);                                           // (B, nh, T, hs)
        var v = heads.narrow(1, 2 * nh, nh);                                    // (B, nh, T, hs)
        if (cache is not null) (k, v) = cache.Append(k, v);                     // (B, nh, Tk, hs)
        if (lastOnly && T > 1) (q, T) = (q.narrow(2, T - 1, 1), 1);             // (B, nh, 1, hs): the last query sees every key
        var y = attention.call(q, k, v);                                        // (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C);                                 // (B, T, C): heads side by side
        return resid_dropout.call(c_proj.call(y));                              // (B, T, C)
    }
}
