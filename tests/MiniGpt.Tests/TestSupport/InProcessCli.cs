using MiniGpt.Cli;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// Runs the CLI's real entry point in this process, in a given folder, capturing stdout and stderr: fast
/// enough for tables of cases. (Tests do not run in parallel, so swapping the console is safe.)
/// </summary>
public static class InProcessCli
{
    public static (int Code, string Stdout, string Stderr) Run(string workingDir, params string[] args)
    {
        var (stdout, stderr, cwd) = (Console.Out, Console.Error, Directory.GetCurrentDirectory());
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        Directory.SetCurrentDirectory(workingDir);
        try { return (Program.Main(args), o.ToString(), e.ToString()); }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Directory.SetCurrentDirectory(cwd);
        }
    }
}
