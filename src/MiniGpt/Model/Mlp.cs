using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// The transformer's position-wise feed-forward network: <c>MLP(x) = Dropout(W₂ GELU(W₁ x + b₁) + b₂)</c>,
/// with W₁: C → I and W₂: I → C, I = n_inner or 4C; GELU exact or tanh-approximated as the config says.
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear c_fc;
    readonly Gelu gelu;
    readonly Linear c_proj;
    readonly Dropout dropout;

    public Mlp(GptConfig config, Generator? generator = null) : base(nameof(Mlp))
    {
        c_fc = new Linear(config.NEmbd, config.MlpWidth, config.Bias, 0.02, generator);
        gelu = new Gelu(approximateTanh: config.Activation == Activation.GeluTanh, config.Fused);
        c_proj = new Linear(config.MlpWidth, config.NEmbd, config.Bias, config.ResidualInitStd, generator);
        dropout = new Dropout(config.Dropout, config.Fused);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)              // x: (B, T, C)
    {
        var h = gelu.call(c_fc.call(x));                   // (B, T, I)
        return dropout.call(c_proj.call(h));               // (B, T, C)
    }
}
