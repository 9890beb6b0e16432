using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class LinearTests
{
    static Linear Make(double[,] w, double[]? b)
    {
        var lin = new Linear(w.GetLength(1), w.GetLength(0), hasBias: b is not null).to(float64);
        using (no_grad())
        {
            lin.weight.copy_(T(w));
            lin.bias?.copy_(tensor(b!, dtype: float64));
        }
        return lin;
    }

    [Fact]
    public void WorkedExample_Section1()
    {
        var lin = Make(new double[,] { { 1, 0, 1 }, { 0, 1, 0 } }, [0.5, -0.5]);
        var y = lin.call(tensor(new double[] { 1, 2, 3 }));
        Close(tensor(new double[] { 4.5, 1.5 }), y, 1e-5);
    }

    [Fact]
    public void ChainRule_Section11_GradientOfHalfSquaredErrorIsOuterProduct()
    {
        // L = ½‖Wx − t‖² ⇒ ∂L/∂W = (y − t) xᵀ.
        var lin = Make(new double[,] { { 1, 0, 1 }, { 0, 1, 0 } }, null);
        var x = tensor(new double[] { 1, 2, 3 });
        var t = tensor(new double[] { 1, 1 });
        var y = lin.call(x);                                                  // [4, 2]
        (0.5 * (y - t).pow(2).sum()).backward();
        Close(T(new double[,] { { 3, 6, 9 }, { 1, 2, 3 } }), lin.weight.grad!, 1e-12);
    }

    [Fact]
    public void GradientCheck()
    {
        var lin = new Linear(3, 2, hasBias: true).to(float64);
        var x = GradCheck.Input(1, 4, 3);
        var err = GradCheck.MaxError(() => lin.call(x).pow(2).sum(), [x, lin.weight, lin.bias!]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    [Fact]
    public void Initialisation_IsGpt2_NormalWeightsAndZeroBias()
    {
        var lin = new Linear(512, 512, hasBias: true, std: 0.02, new Generator(5));
        Assert.InRange(lin.weight.std().item<float>(), 0.0195f, 0.0205f);
        Assert.InRange(lin.weight.mean().item<float>(), -0.0005f, 0.0005f);
        Assert.Equal(0f, lin.bias!.abs().sum().item<float>());
    }
}
