package dev.saetrain.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The frontier marking and the CSV format of sweep collect. */
class SweepTableTest {
    private static SweepCollector.Row row(String name, double l0, double fvu) {
        return new SweepCollector.Row(0, Path.of("/r/t000"), name, "topk", 64, 4, Double.NaN, l0, fvu, 0.01, 1000,
                2.5, false);
    }

    @Test
    void frontierKeepsTheSaesThatNoOtherBeatsOnBothAxes() {
        List<SweepCollector.Row> marked = SweepCollector.markFrontier(List.of(row("a", 4, 0.20), row("b", 8, 0.10),
                row("c", 8, 0.15), row("d", 16, 0.10), row("e", 2, 0.50), row("f", 3, Double.NaN), row("g", 4, 0.20)));
        assertEquals(List.of(true, true, false, false, true, false, true),
                marked.stream().map(SweepCollector.Row::onFrontier).toList(),
                "c and d are dominated by b; NaN is never on it; ties (a, g) both stay");
    }

    @Test
    void csvHasOneRowPerSaeAndEmptyCellsWhereAColumnDoesNotApply() {
        SweepCollector.Row relu = new SweepCollector.Row(3, Path.of("/r/t003,x"), "x2-l1_5.0", "relu", 32, 0, 5.0,
                12.5, 0.0625, Double.NaN, 4096, 1.0, true);
        String csv = SweepTable.csv(List.of(row("x2-k4", 3.5, 0.125), relu));
        List<String> lines = csv.lines().toList();
        assertEquals("task,run,name,architecture,d_sae,k,l1,l0,fvu,dead_fraction,tokens,wall_s,on_frontier", lines.get(0));
        assertEquals("0,t000,x2-k4,topk,64,4,,3.50000,0.125000,0.0100000,1000,2.50000,false", lines.get(1));
        assertEquals("3,\"t003,x\",x2-l1_5.0,relu,32,,5.00000,12.5000,0.0625000,,4096,1.00000,true", lines.get(2));
        assertEquals(3, lines.size());
    }

    @Test
    void jsonCarriesTheSameRowsAndTheUnfinishedTasks() {
        var r = new SweepCollector.Result(List.of(row("x2-k4", 3.5, 0.125)), List.of(new SweepCollector.Unfinished(2,
                Path.of("/r/t002"), "not started", Path.of("/r/logs/task-2.log"), "")));
        var json = SweepTable.json(r);
        assertEquals(4, json.at("/saes/0/k").asInt());
        assertTrue(json.at("/saes/0/l1").isNull());
        assertEquals(0.125, json.at("/saes/0/fvu").asDouble());
        assertFalse(json.at("/saes/0/on_frontier").asBoolean());
        assertEquals("/r/logs/task-2.log", json.at("/unfinished/0/log").asText());
        assertEquals(2, json.at("/unfinished/0/task").asInt());
    }
}
