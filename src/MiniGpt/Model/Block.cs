using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// A pre-LayerNorm transformer block, two residual connections (FORMULAS §5, <c>y = Layer(x) + x</c>):
/// <c>x ← x + Attention(LN₁(x))</c>, then <c>x ← x + MLP(LN₂(x))</c>.
/// </summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm ln_1;
    readonly CausalSelfAttention attn;
    readonly LayerNorm ln_2;
    readonly Mlp mlp;

    public Block(GptConfig config, Generator? generator = null) : base(nameof(Block))
    {
        ln_1 = new LayerNorm(config.NEmbd, config.Bias, config.Fused, config.LayerNormEpsilon);
        attn = new CausalSelfAttention(config, generator);
        ln_2 = new LayerNorm(config.NEmbd, config.Bias, config.Fused, config.LayerNormEpsilon);
        mlp = new Mlp(config, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, cache: null);

    /// <param name="lastOnly">
    /// Only the last position's output is wanted (the last block, when sampling): every position's keys and values
    /// still reach the cache, but the rest of the block runs for the last position alone.
    /// </param>
    public Tensor Forward(Tensor x, LayerKvCache? cache, bool lastOnly = false)   // x: (B, T, C)
    {
        var a = attn.Forward(ln_1.call(x), cache, lastOnly);                       // (B, T, C), or (B, 1, C)
        if (lastOnly && x.size(1) > 1) x = x.narrow(1, x.size(1) - 1, 1);         // (B, 1, C)
        x = x + a;                                                                 // (B, T, C), or (B, 1, C)
        return x + mlp.call(ln_2.call(x));                                         // (B, T, C), or (B, 1, C)
    }
}
