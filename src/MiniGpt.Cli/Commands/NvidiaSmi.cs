using System.Diagnostics;
using System.Globalization;

namespace MiniGpt.Cli.Commands;

/// <summary>What nvidia-smi says about this process and its GPU; null wherever it is missing, slow or unclear.</summary>
public static class NvidiaSmi
{
    /// <summary>Dense bf16 tensor-core peaks by GPU model, for mfu when none is given (vendor data sheets).</summary>
    static readonly (string Model, double PeakFlops)[] Peaks =
    [
        ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
        ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10G", 70e12), ("A10", 125e12),
    ];

    /// <summary>The peak of the first model whose name the GPU's name contains (the list puts variants first).</summary>
    public static (double PeakFlops, string Model)? PeakFor(string gpuName)
        => Peaks.Where(p => gpuName.Contains(p.Model, StringComparison.OrdinalIgnoreCase)).Select(p => ((double, string)?)(p.PeakFlops, p.Model)).FirstOrDefault();

    public static string? GpuName() => Query("--query-gpu=name --format=csv,noheader")?.Split('\n')[0].Trim() is { Length: > 0 } name ? name : null;

    /// <summary>The GPU memory this process holds, from --query-compute-apps (which, unlike memory.used, leaves other processes out).</summary>
    public static long? ProcessMemoryBytes() => Query("--query-compute-apps=pid,used_memory --format=csv,noheader,nounits") is { } csv
        ? MemoryOf(csv, Environment.ProcessId) : null;

    /// <summary>The MiB column of <paramref name="pid"/>'s rows (one per GPU it uses), in bytes.</summary>
    public static long? MemoryOf(string csv, int pid)
    {
        long total = 0;
        bool found = false;
        foreach (var line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var cells = line.Split(',', StringSplitOptions.TrimEntries);
            if (cells.Length == 2 && int.TryParse(cells[0], out int p) && p == pid && long.TryParse(cells[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long mib))
            {
                total += mib * 1024 * 1024;
                found = true;
            }
        }
        return found ? total : null;
    }

    static string? Query(string arguments)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("nvidia-smi", arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(10))) { p.Kill(); return null; }   // a hung driver must not hang the benchmark
            return p.ExitCode == 0 ? output.Result : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;   // no nvidia-smi
        }
    }
}
