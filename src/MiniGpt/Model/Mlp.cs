using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// The transformer's position-wise feed-forward network: <c>MLP(x) = Dropout(W₂ GELU(W₁ x + b₁) + b₂)</c>,
/// with W₁: C → 4C and W₂: 4C → C.
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear c_fc;
    readonly Gelu gelu;
    readonly Linear c_proj;
    readonly Dropout dropout;

    public Mlp(GptConfig config, Generator? generator = null) : base(nameof(Mlp))
    {
        c_fc = new Linear(config.NEmbd, 4 * config.NEmbd, config.Bias, 0.02, generator);
        gelu = new Gelu(approximateTanh: false, config.Fused);
        c_proj = new Linear(4 * config.NEmbd, config.NEmbd, config.Bias, config.ResidualInitStd, generator);
        dropout = new Dropout(config.Dropout, config.Fused);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)              // x: (B, T, C)
    {
        var h = gelu.call(c_fc.call(x));                   // (B, T, 4C)
        return dropout.call(c_proj.call(h));               // (B, T, C)
    }
}
