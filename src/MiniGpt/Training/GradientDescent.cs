using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>Gradient descent (FORMULAS §12): <c>θ ← θ − η ∇θ L</c>, over a <see cref="FlatParameters"/> buffer.</summary>
public sealed class GradientDescent(FlatParameters flat)
{
    public void StepWith(double lr)
    {
        using (no_grad()) flat.Data.add_(flat.Grad, alpha: -lr);
    }
}
