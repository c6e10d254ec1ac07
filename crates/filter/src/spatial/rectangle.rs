//! Whether a WKB geometry meets an axis-aligned rectangle, decided on the
//! WKB itself: no geometry is built and nothing is allocated.
//!
//! A bbox search tests the rows on the edge of its box against their
//! geometries; decoding each into `geo` types cost half of such a search's
//! time. The answer is the one `geo`'s `intersects` gives (closed sets: a
//! touch meets): a point meets when it lies in the rectangle; a segment
//! when the separating axis theorem finds no axis apart (its bbox meets the
//! rectangle, and the rectangle's corners are not all strictly on one side
//! of its line, by the same robust orientation test `geo` uses); a polygon
//! when one of its rings' segments meets it or, failing that, when a corner
//! of the rectangle lies inside it (even-odd over its rings, holes
//! included); a collection when a member does.

use super::{MAX_DEPTH, Reader};
use geo::{Coord, GeoNum, Kernel, Orientation};

/// Whether the 2D WKB geometry `wkb` meets the rectangle `[west, south,
/// east, north]` (crossing the antimeridian when west > east); `None` when
/// `wkb` is not WKB.
pub fn meets_rectangle(wkb: &[u8], [west, south, east, north]: [f64; 4]) -> Option<bool> {
    let meets = |west, east| {
        Reader {
            bytes: wkb,
            position: 0,
        }
        .meets(
            &Rectangle {
                west,
                south,
                east,
                north,
            },
            0,
        )
    };
    if west <= east {
        return meets(west, east);
    }
    Some(meets(west, 180.0)? || meets(-180.0, east)?)
}

/// A rectangle with `west <= east`.
struct Rectangle {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

impl Rectangle {
    fn contains(&self, point: Coord<f64>) -> bool {
        (self.west..=self.east).contains(&point.x) && (self.south..=self.north).contains(&point.y)
    }

    fn corners(&self) -> [Coord<f64>; 4] {
        let (w, s, e, n) = (self.west, self.south, self.east, self.north);
        [(w, s), (e, s), (e, n), (w, n)].map(|(x, y)| Coord { x, y })
    }

    /// Whether the closed segment `a`-`b` meets the rectangle.
    fn meets_segment(&self, a: Coord<f64>, b: Coord<f64>) -> bool {
        if self.contains(a) || self.contains(b) {
            return true;
        }
        if a.x.max(b.x) < self.west
            || a.x.min(b.x) > self.east
            || a.y.max(b.y) < self.south
            || a.y.min(b.y) > self.north
        {
            return false;
        }
        let sides = self
            .corners()
            .map(|corner| <f64 as GeoNum>::Ker::orient2d(a, b, corner));
        let left = sides.iter().all(|side| *side == Orientation::CounterClockwise);
        let right = sides.iter().all(|side| *side == Orientation::Clockwise);
        a != b && !left && !right
    }
}

impl Reader<'_> {
    fn meets(&mut self, rectangle: &Rectangle, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        let little = self.take::<1>()?[0] == 1;
        let code = self.u32(little)?;
        let (kind, dimensions) = (code % 1000, 2 + (code / 1000).min(3).count_ones() as usize);
        match kind {
            1 => Some(rectangle.contains(self.coord(little, dimensions)?)),
            2 => self.line_meets(little, dimensions, rectangle),
            3 => self.polygon_meets(little, dimensions, rectangle),
            4..=7 => {
                for _ in 0..self.count(little)? {
                    if self.meets(rectangle, depth + 1)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            _ => None,
        }
    }

    fn line_meets(&mut self, little: bool, dimensions: usize, rectangle: &Rectangle) -> Option<bool> {
        let count = self.count(little)?;
        let mut previous = None;
        for _ in 0..count {
            let point = self.coord(little, dimensions)?;
            let met = match previous {
                None => rectangle.contains(point),
                Some(previous) => rectangle.meets_segment(previous, point),
            };
            if met {
                return Some(true);
            }
            previous = Some(point);
        }
        Some(false)
    }

    /// A polygon meets the rectangle when a ring's segment does, or else
    /// when the rectangle lies inside it: then its south-west corner is
    /// inside an odd number of rings (half-open crossings of the ray to the
    /// east, each decided by a robust orientation test).
    fn polygon_meets(&mut self, little: bool, dimensions: usize, rectangle: &Rectangle) -> Option<bool> {
        let corner = Coord {
            x: rectangle.west,
            y: rectangle.south,
        };
        let mut inside = false;
        for _ in 0..self.count(little)? {
            let count = self.count(little)?;
            let mut first = None;
            let mut previous: Option<Coord<f64>> = None;
            for _ in 0..count {
                let point = self.coord(little, dimensions)?;
                if let Some(previous) = previous {
                    if rectangle.meets_segment(previous, point) {
                        return Some(true);
                    }
                    inside ^= crosses(previous, point, corner);
                }
                first.get_or_insert(point);
                previous = Some(point);
            }
            // An unclosed ring is closed, as `geo` closes it.
            if let (Some(first), Some(last)) = (first, previous)
                && first != last
            {
                if rectangle.meets_segment(last, first) {
                    return Some(true);
                }
                inside ^= crosses(last, first, corner);
            }
        }
        Some(inside)
    }
}

/// Whether the ray from `point` to the east crosses the segment `a`-`b`
/// (counting a vertex on the ray once: the segment's lower end is in, its
/// upper end out).
fn crosses(a: Coord<f64>, b: Coord<f64>, point: Coord<f64>) -> bool {
    let orientation = || <f64 as GeoNum>::Ker::orient2d(a, b, point);
    if a.y <= point.y && b.y > point.y {
        orientation() == Orientation::CounterClockwise
    } else if b.y <= point.y && a.y > point.y {
        orientation() == Orientation::Clockwise
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::decode_wkb;
    use geo::{Intersects, Rect};
    use serde_json::{Value, json};
    use stac_indexed_format::geometry::encode_geojson;

    fn wkb(value: Value) -> Vec<u8> {
        encode_geojson(&value).unwrap().wkb
    }

    /// What `geo` says: the reference this module must agree with.
    fn reference(wkb: &[u8], [west, south, east, north]: [f64; 4]) -> bool {
        let geometry = decode_wkb(wkb).unwrap();
        let rectangle = |west, east| Rect::new(Coord { x: west, y: south }, Coord { x: east, y: north }).to_polygon();
        if west <= east {
            geometry.intersects(&rectangle(west, east))
        } else {
            geometry.intersects(&rectangle(west, 180.0)) || geometry.intersects(&rectangle(-180.0, east))
        }
    }

    fn geometries() -> Vec<Value> {
        vec![
            json!({"type": "Point", "coordinates": [1, 1]}),
            json!({"type": "Point", "coordinates": [2, 2]}),
            json!({"type": "LineString", "coordinates": [[-5, 1.5], [5, 1.5]]}),
            json!({"type": "LineString", "coordinates": [[-5, -4], [4, 5]]}),
            json!({"type": "LineString", "coordinates": [[-5, -5.5], [5.5, 5]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 10], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": [[[-10, -10], [10, -10], [10, 10], [-10, 10], [-10, -10]]]}),
            // A hole around the test rectangles, and a ring left unclosed.
            json!({"type": "Polygon", "coordinates": [
                [[-10, -10], [10, -10], [10, 10], [-10, 10], [-10, -10]],
                [[-3, -3], [3, -3], [3, 3], [-3, 3], [-3, -3]]]}),
            json!({"type": "MultiPolygon", "coordinates": [
                [[[20, 20], [21, 20], [21, 21], [20, 20]]], [[[1.5, 1.5], [1.7, 1.5], [1.7, 1.7], [1.5, 1.5]]]]}),
            json!({"type": "MultiPoint", "coordinates": [[50, 50], [2, 1]]}),
            json!({"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [30, 30]},
                {"type": "LineString", "coordinates": [[0, 2], [2, 0]]}]}),
            json!({"type": "Polygon", "coordinates": [[[170, -5], [180, -5], [180, 5], [170, 5], [170, -5]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0.5], [3, 0.5], [3, 0.9], [0, 0.5]]]}),
        ]
    }

    #[test]
    fn agrees_with_geo_on_every_pair() {
        let rectangles = [
            [1.0, 1.0, 2.0, 2.0],
            [0.0, 0.0, 0.5, 0.5],
            [-1.0, -1.0, 1.0, 1.0],
            [4.0, 4.0, 6.0, 6.0],
            [4.5, 4.5, 6.0, 6.0],
            [5.0, 5.0, 6.0, 6.0],
            [-2.0, -2.0, 2.0, 2.0],
            [2.0, 2.0, 2.0, 2.0],
            [-20.0, -20.0, 20.0, 20.0],
            [175.0, -1.0, -175.0, 1.0],
            [179.0, 30.0, -179.0, 40.0],
            [1.0, 0.8, 2.0, 1.0],
            [20.5, 20.0, 20.6, 20.2],
        ];
        for geometry in geometries() {
            let bytes = wkb(geometry.clone());
            for rectangle in rectangles {
                assert_eq!(
                    meets_rectangle(&bytes, rectangle),
                    Some(reference(&bytes, rectangle)),
                    "{geometry} and {rectangle:?}"
                );
            }
        }
    }

    #[test]
    fn agrees_with_geo_on_random_triangles() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2_000) as f64 / 100.0 - 10.0
        };
        for _ in 0..2_000 {
            let [a, b, c, d, e, f] = [next(), next(), next(), next(), next(), next()];
            let triangle = wkb(json!({"type": "Polygon", "coordinates": [[[a, b], [c, d], [e, f], [a, b]]]}));
            let line = wkb(json!({"type": "LineString", "coordinates": [[a, b], [c, d]]}));
            let (x, y) = (next(), next());
            let rectangle = [x, y, x + next().abs() / 4.0, y + next().abs() / 4.0];
            for bytes in [&triangle, &line] {
                assert_eq!(
                    meets_rectangle(bytes, rectangle),
                    Some(reference(bytes, rectangle)),
                    "{rectangle:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_wkb_is_none() {
        assert_eq!(meets_rectangle(&[1, 1, 0], [0.0, 0.0, 1.0, 1.0]), None);
        assert_eq!(meets_rectangle(&[1, 9, 0, 0, 0], [0.0, 0.0, 1.0, 1.0]), None);
    }
}
