using System.Diagnostics;
using System.Text;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Runs the built minigpt executable (minigpt.dll beside the tests) as a separate process.</summary>
public sealed class CliProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder stdout = new(), stderr = new();
    readonly object gate = new();
    public event Action<string>? Line;

    public CliProcess(string workingDir, params string[] args) : this(null, workingDir, args) { }

    /// <param name="environment">Variables to set (or, with a null value, remove) for this process alone.</param>
    public CliProcess(IReadOnlyDictionary<string, string?>? environment, string workingDir, params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(SigIntIgnored ? "env" : host) { WorkingDirectory = workingDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (SigIntIgnored) { psi.ArgumentList.Add("--default-signal=INT"); psi.ArgumentList.Add(host); }   // env execs: Id stays minigpt's
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) psi.Environment[name] = value;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "minigpt.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (gate) stdout.AppendLine(e.Data); Line?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) return; lock (gate) stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>
    /// Whether this process ignores SIGINT, as a test run started in the background of a non-interactive shell
    /// (<c>cmd &amp;</c>, nohup) does. A child inherits that, and .NET then handles no SIGINT at all, so
    /// <see cref="Signal"/>("INT") would do nothing; such children start with SIGINT at its default instead, as a
    /// command in a terminal's foreground has it (GNU env's --default-signal).
    /// </summary>
    static readonly bool SigIntIgnored = OperatingSystem.IsLinux()
        && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:")) is { } line
        && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (2 - 1))) != 0;   // bit n-1 for signal n; SIGINT = 2

    public int Id => process.Id;
    public string Stdout { get { lock (gate) return stdout.ToString(); } }
    public string Stderr { get { lock (gate) return stderr.ToString(); } }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout)) { process.Kill(entireProcessTree: true); throw new TimeoutException($"minigpt did not exit within {timeout}; output:\n{Stdout}\n{Stderr}"); }
        process.WaitForExit();   // drains the output events
        return process.ExitCode;
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString()])!;
        kill.WaitForExit();
    }

    public static (int Code, string Stdout, string Stderr) Run(string workingDir, params string[] args) => Run(null, workingDir, args);

    public static (int Code, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string?>? environment, string workingDir, params string[] args)
    {
        using var p = new CliProcess(environment, workingDir, args);
        int code = p.WaitForExit(TimeSpan.FromMinutes(2));
        return (code, p.Stdout, p.Stderr);
    }

    public void Dispose() { if (!process.HasExited) process.Kill(entireProcessTree: true); process.Dispose(); }
}
