using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Scaled dot-product attention (FORMULAS §3): <c>Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) V</c>,
/// where the causal mask <c>M</c> is −∞ above the diagonal so query t sees keys ≤ t only.
/// When there are fewer queries than keys (decoding with a KV cache) the queries are the last Tq positions.
/// </summary>
public sealed class ScaledDotProductAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly bool causal;
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }
    readonly Softmax softmax;
    readonly Dropout attnDropout;

    public ScaledDotProductAttention(bool causal, double dropout, bool fused) : base(nameof(ScaledDotProductAttention))
    {
        this.causal = causal;
        Fused = fused;
        softmax = new Softmax(fused: false);
        attnDropout = new Dropout(dropout, fused: false);
        RegisterComponents();
    }

    /// <param name="q">(B, nh, Tq, hs)</param><param name="k">(B, nh, Tk, hs)</param><param name="v">(B, nh, Tk, hs)</param>
    public override Tensor forward(Tensor q, Tensor k, Tensor v)
    {
        long Tq = q.size(-2), Tk = k.size(-2), hs = q.size(-1);
        if (Fused)
        {
            var p = training ? attnDropout.P : 0.0;
            // is_casual aligns the mask top-left; with a cache (Tq < Tk) the mask must be given explicitly, except for
            // a single query, the last position, which sees every key.
            if (!causal || Tq == 1)
                return nn.functional.scaled_dot_product_attention(q, k, v, p: p);
            if (Tq == Tk)
                return nn.functional.scaled_dot_product_attention(q, k, v, p: p, is_casual: true);
            using var allowed = CausalMask(Tq, Tk, q.device);
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: allowed, p: p);
        }
        var att = matmul(q, k.transpose(-2, -1)) * (1.0 / Math.Sqrt(hs));     // (B, nh, Tq, Tk)
        if (causal && Tq > 1)   // one query, the last position, sees every key
        {
            using var allowed = CausalMask(Tq, Tk, q.device);                   // (Tq, Tk)
            att = att.masked_fill(allowed.logical_not(), double.NegativeInfinity);
        }
        att = attnDropout.call(softmax.call(att));                              // (B, nh, Tq, Tk)
        return matmul(att, v);                                                  // (B, nh, Tq, hs)
    }

    /// <summary>True where query i (absolute position Tk − Tq + i) may attend key j: j ≤ Tk − Tq + i.</summary>
    public static Tensor CausalMask(long Tq, long Tk, Device device)
        => ones(Tq, Tk, dtype: ScalarType.Bool, device: device).tril(Tk - Tq);   // (Tq, Tk)
}
