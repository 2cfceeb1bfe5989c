program mle; var p: pbyte; i: ptruint; begin p := GetMem(256 * 1024 * 1024); i := 0; while i < 256 * 1024 * 1024 do begin p[i] := 1; i := i + 4096; end; writeln(p[4096]); end.
