namespace MiniGpt.Logs;

/// <summary>
/// TensorBoard's scalar smoothing: an exponential moving average <c>s_t = w s_{t−1} + (1 − w) y_t</c>, divided
/// by <c>1 − wᵗ</c> so the first points are not pulled towards zero. w = 0 returns the raw values.
/// </summary>
public static class Smoothing
{
    public static double[] Ema(IReadOnlyList<double> values, double weight)
    {
        if (!(weight >= 0 && weight < 1)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "smoothing must be in [0, 1)");
        var result = new double[values.Count];
        double last = 0, debias = 1;
        for (int i = 0; i < values.Count; i++)
        {
            last = last * weight + (1 - weight) * values[i];
            debias *= weight;
            result[i] = weight == 0 ? values[i] : last / (1 - debias);
        }
        return result;
    }
}
