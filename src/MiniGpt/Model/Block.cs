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

    public Tensor Forward(Tensor x, LayerKvCache? cache)   // x: (B, T, C)
    {
        x = x + attn.Forward(ln_1.call(x), cache);          // (B, T, C)
        return x + mlp.call(ln_2.call(x));                  // (B, T, C)
    }
}
