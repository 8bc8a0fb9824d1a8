using MedDistill.Cli;

return CliHost.Run(CliApp.CreateRoot(), args);
