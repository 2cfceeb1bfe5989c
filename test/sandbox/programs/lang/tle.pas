program tle; var x: qword; begin x := 0; while true do x := x + 1; end.
