using System.CommandLine;
using MedDistill.Bench;

var root = new RootCommand("MedDistill benchmarks (compare with the PyTorch scripts in bench/).");
root.Subcommands.Add(EngineCommand.Create());
root.Subcommands.Add(LatencyCommand.Create());
root.Subcommands.Add(DistillCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
return root.Parse(args).Invoke();
