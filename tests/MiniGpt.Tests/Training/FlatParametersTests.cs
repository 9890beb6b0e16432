using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Training;

public class FlatParametersTests
{
    [Fact]
    public void ParametersAndGradients_AreViewsIntoTheFlatBuffers()
    {
        var a = nn.Parameter(tensor(new double[,] { { 1, 2 }, { 3, 4 } }));
        var b = nn.Parameter(tensor(new double[] { 5, 6 }));
        using var flat = new FlatParameters([("a", a), ("b", b)]);
        Close(tensor(new double[] { 1, 2, 3, 4, 5, 6 }), flat.Data, 0);   // values kept
        using (no_grad()) flat.Data.add_(10);
        Close(tensor(new double[] { 15, 16 }), b, 0);                        // the parameter sees the buffer
        (a.sum() * 2 + b.sum() * 3).backward();                             // backward writes into the buffer
        Close(tensor(new double[] { 2, 2, 2, 2, 3, 3 }), flat.Grad, 0);
        (a.sum()).backward();                                               // and accumulates there
        Close(tensor(new double[] { 3, 3, 3, 3, 3, 3 }), flat.Grad, 0);
        flat.ZeroGrad();
        Close(zeros(6, dtype: float64), flat.Grad, 0);
        Close(zeros(2, dtype: float64), b.grad!, 0);
    }

    [Fact]
    public void Matrices_LeadTheBuffer_InTheirOriginalOrder()
    {
        var bias1 = nn.Parameter(zeros(3));
        var w1 = nn.Parameter(zeros(2, 2));
        var bias2 = nn.Parameter(zeros(1));
        var w2 = nn.Parameter(zeros(1, 3));
        using var flat = new FlatParameters([("bias1", bias1), ("w1", w1), ("bias2", bias2), ("w2", w2)]);
        Assert.Equal(["w1", "w2", "bias1", "bias2"], flat.Entries.Select(e => e.Name));
        Assert.Equal(7, flat.MatrixCount);
    }

    [Fact]
    public void ListingAParameterTwice_IsRefused()
    {
        var a = nn.Parameter(ones(2));
        Assert.Throws<ArgumentException>(() => new FlatParameters([("a", a), ("again", a)]));
    }

    [Fact]
    public void ClipGradNorm_ScalesToMaxNorm_AndReturnsTheNormBefore()
    {
        var a = nn.Parameter(zeros(2, dtype: float64));
        using var flat = new FlatParameters([("a", a)]);
        flat.Grad.copy_(tensor(new double[] { 3, 4 }));
        var norm = flat.ClipGradNorm(1.0);
        Assert.Equal(5.0, norm.item<double>(), 12);
        Close(tensor(new[] { 0.6, 0.8 }), flat.Grad, 1e-6);
        flat.Grad.copy_(tensor(new double[] { 0.3, 0.4 }));
        flat.ClipGradNorm(1.0);                                             // under the limit: unchanged
        Close(tensor(new[] { 0.3, 0.4 }), flat.Grad, 0);
    }
}
