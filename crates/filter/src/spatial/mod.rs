//! Exact spatial tests: WKB to `geo` geometries, and the `st_intersects`,
//! `st_within`, ... scalar functions registered with DuckDB
//! ([`register_functions`]).
//!
//! Searches prune with the bbox columns first; this function then tests the
//! item's real geometry, so that a page holds exactly the items that match
//! (no bbox approximation) and LIMIT and paging stay exact.

use arrow_array::{Array, ArrayRef, BinaryArray, BooleanArray, LargeBinaryArray};
use arrow_schema::DataType;
use duckdb::vscalar::{ArrowFunctionSignature, VArrowScalar};
use geo::relate::IntersectionMatrix;
use geo::{
    Coord, Geometry, GeometryCollection, Intersects, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon, PreparedGeometry, Relate,
};
use std::cell::OnceCell;
use std::sync::Arc;

mod rectangle;

pub use rectangle::meets_rectangle;

/// The SQL name of the exact intersection test: `st_intersects(geometry, query_wkb)`.
pub const INTERSECTS: &str = "st_intersects";

/// How deeply collections may nest in WKB before it is refused.
const MAX_DEPTH: usize = 16;

/// Decodes 2D WKB (either byte order; Z/M values are skipped).
pub fn decode_wkb(bytes: &[u8]) -> Option<Geometry<f64>> {
    let mut reader = Reader { bytes, position: 0 };
    let geometry = reader.geometry(0)?;
    Some(geometry)
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let slice = self.bytes.get(self.position..self.position + N)?;
        self.position += N;
        slice.try_into().ok()
    }

    fn u32(&mut self, little: bool) -> Option<u32> {
        let raw = self.take::<4>()?;
        Some(if little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        })
    }

    fn f64(&mut self, little: bool) -> Option<f64> {
        let raw = self.take::<8>()?;
        Some(if little {
            f64::from_le_bytes(raw)
        } else {
            f64::from_be_bytes(raw)
        })
    }

    fn coord(&mut self, little: bool, dimensions: usize) -> Option<Coord<f64>> {
        let x = self.f64(little)?;
        let y = self.f64(little)?;
        for _ in 2..dimensions {
            self.f64(little)?;
        }
        Some(Coord { x, y })
    }

    fn count(&mut self, little: bool) -> Option<usize> {
        let count = self.u32(little)? as usize;
        // Every element takes at least 8 bytes: refuse counts the input cannot hold.
        (count <= self.bytes.len().saturating_sub(self.position) / 8 + 1).then_some(count)
    }

    fn line(&mut self, little: bool, dimensions: usize) -> Option<LineString<f64>> {
        let count = self.count(little)?;
        (0..count)
            .map(|_| self.coord(little, dimensions))
            .collect::<Option<Vec<_>>>()
            .map(LineString::new)
    }

    fn polygon(&mut self, little: bool, dimensions: usize) -> Option<Polygon<f64>> {
        let count = self.count(little)?;
        let mut rings = (0..count)
            .map(|_| self.line(little, dimensions))
            .collect::<Option<Vec<_>>>()?
            .into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString::new(vec![]));
        Some(Polygon::new(exterior, rings.collect()))
    }

    fn geometry(&mut self, depth: usize) -> Option<Geometry<f64>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let little = self.take::<1>()?[0] == 1;
        let code = self.u32(little)?;
        // ISO WKB: 1000s add Z, 2000s add M, 3000s add ZM; EWKB flags are not used here.
        let (kind, dimensions) = (code % 1000, 2 + (code / 1000).min(3).count_ones() as usize);
        Some(match kind {
            1 => Geometry::Point(Point(self.coord(little, dimensions)?)),
            2 => Geometry::LineString(self.line(little, dimensions)?),
            3 => Geometry::Polygon(self.polygon(little, dimensions)?),
            4 => Geometry::MultiPoint(MultiPoint(self.members(little, depth, |g| match g {
                Geometry::Point(p) => Some(p),
                _ => None,
            })?)),
            5 => Geometry::MultiLineString(MultiLineString(self.members(little, depth, |g| match g {
                Geometry::LineString(l) => Some(l),
                _ => None,
            })?)),
            6 => Geometry::MultiPolygon(MultiPolygon(self.members(little, depth, |g| match g {
                Geometry::Polygon(p) => Some(p),
                _ => None,
            })?)),
            7 => Geometry::GeometryCollection(GeometryCollection(self.members(little, depth, Some)?)),
            _ => return None,
        })
    }

    fn members<T>(&mut self, little: bool, depth: usize, keep: impl Fn(Geometry<f64>) -> Option<T>) -> Option<Vec<T>> {
        let count = self.count(little)?;
        (0..count).map(|_| self.geometry(depth + 1).and_then(&keep)).collect()
    }
}

/// A spatial relation of CQL2 (`S_INTERSECTS`, ...), tested exactly on the
/// DE-9IM matrix of two geometries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// `S_INTERSECTS`.
    Intersects,
    /// `S_DISJOINT`.
    Disjoint,
    /// `S_EQUALS` (topological equality).
    Equals,
    /// `S_TOUCHES`.
    Touches,
    /// `S_WITHIN`: the first geometry lies within the second.
    Within,
    /// `S_CONTAINS`: the first geometry contains the second.
    Contains,
    /// `S_OVERLAPS`.
    Overlaps,
    /// `S_CROSSES`.
    Crosses,
}

impl Relation {
    /// Every relation.
    pub const ALL: [Relation; 8] = [
        Relation::Intersects,
        Relation::Disjoint,
        Relation::Equals,
        Relation::Touches,
        Relation::Within,
        Relation::Contains,
        Relation::Overlaps,
        Relation::Crosses,
    ];

    /// The relation a CQL2 operator names (`s_intersects`, ...).
    pub fn of_operator(op: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.operator() == op)
    }

    /// The CQL2 operator (`s_intersects`, ...).
    pub fn operator(self) -> &'static str {
        match self {
            Relation::Intersects => "s_intersects",
            Relation::Disjoint => "s_disjoint",
            Relation::Equals => "s_equals",
            Relation::Touches => "s_touches",
            Relation::Within => "s_within",
            Relation::Contains => "s_contains",
            Relation::Overlaps => "s_overlaps",
            Relation::Crosses => "s_crosses",
        }
    }

    /// The SQL name of its scalar function: `st_intersects(a BLOB, b BLOB) -> BOOLEAN`.
    pub fn sql_function(self) -> &'static str {
        match self {
            Relation::Intersects => INTERSECTS,
            Relation::Disjoint => "st_disjoint",
            Relation::Equals => "st_equals",
            Relation::Touches => "st_touches",
            Relation::Within => "st_within",
            Relation::Contains => "st_contains",
            Relation::Overlaps => "st_overlaps",
            Relation::Crosses => "st_crosses",
        }
    }

    /// The relation with its operands exchanged: `a WITHIN b` is `b CONTAINS a`.
    pub fn converse(self) -> Relation {
        match self {
            Relation::Within => Relation::Contains,
            Relation::Contains => Relation::Within,
            other => other,
        }
    }

    /// Whether the relation can only hold when the two geometries meet, so
    /// that items whose bbox misses the other geometry's bounds can be
    /// skipped (everything but `S_DISJOINT`).
    pub fn implies_intersection(self) -> bool {
        self != Relation::Disjoint
    }

    fn holds(self, matrix: &IntersectionMatrix) -> bool {
        match self {
            Relation::Intersects => matrix.is_intersects(),
            Relation::Disjoint => matrix.is_disjoint(),
            Relation::Equals => matrix.is_equal_topo(),
            Relation::Touches => matrix.is_touches(),
            Relation::Within => matrix.is_within(),
            Relation::Contains => matrix.is_contains(),
            Relation::Overlaps => matrix.is_overlaps(),
            Relation::Crosses => matrix.is_crosses(),
        }
    }

    /// Whether `relation(a, b)` holds, `b` being the cached query side.
    fn test(self, a: &Geometry<f64>, b: &Query) -> bool {
        match self {
            // The bounding boxes and edges decide without building the DE-9IM matrix.
            Relation::Intersects => b.geometry.intersects(a),
            Relation::Disjoint => !b.geometry.intersects(a),
            _ => self.holds(&a.relate(b.prepared())),
        }
    }
}

/// A decoded second argument, prepared (edges indexed) on first use.
struct Query {
    geometry: Geometry<f64>,
    prepared: OnceCell<PreparedGeometry<'static, Geometry<f64>>>,
}

impl Query {
    fn prepared(&self) -> &PreparedGeometry<'static, Geometry<f64>> {
        self.prepared
            .get_or_init(|| PreparedGeometry::from(self.geometry.clone()))
    }
}

/// The scalar function of one [`Relation`], `R` its index in [`Relation::ALL`]:
/// `st_<relation>(a BLOB, b BLOB) -> BOOLEAN` on two WKB geometries. NULL
/// or unreadable geometries give NULL (not a match, also under NOT).
///
/// The second argument is usually the same query geometry on every row: it
/// is decoded and prepared (edges indexed) once per run of equal values.
pub struct RelationFunction<const R: usize>;

/// The exact intersection test, `st_intersects(geometry, query_wkb)`.
pub type IntersectsFunction = RelationFunction<0>;

impl<const R: usize> VArrowScalar for RelationFunction<R> {
    type State = ();

    fn invoke(_: &(), input: arrow_array::RecordBatch) -> Result<ArrayRef, Box<dyn std::error::Error>> {
        let relation = Relation::ALL[R];
        let left = binary_values(input.column(0))?;
        let right = binary_values(input.column(1))?;
        let mut cached: Option<(&[u8], Option<Query>)> = None;
        let result: BooleanArray = left
            .iter()
            .zip(right.iter())
            .map(|(a, b)| {
                let (a, b) = ((*a)?, (*b)?);
                if cached.as_ref().is_none_or(|c| c.0 != b) {
                    let query = decode_wkb(b).map(|geometry| Query {
                        geometry,
                        prepared: OnceCell::new(),
                    });
                    cached = Some((b, query));
                }
                let b = cached.as_ref().and_then(|(_, q)| q.as_ref())?;
                Some(relation.test(&decode_wkb(a)?, b))
            })
            .collect();
        Ok(Arc::new(result))
    }

    fn signatures() -> Vec<ArrowFunctionSignature> {
        vec![ArrowFunctionSignature::exact(
            vec![DataType::Binary, DataType::Binary],
            DataType::Boolean,
        )]
    }
}

/// Registers the scalar function of every [`Relation`] with a connection.
pub fn register_functions(connection: &duckdb::Connection) -> duckdb::Result<()> {
    connection.register_scalar_function::<RelationFunction<0>>(Relation::ALL[0].sql_function())?;
    connection.register_scalar_function::<RelationFunction<1>>(Relation::ALL[1].sql_function())?;
    connection.register_scalar_function::<RelationFunction<2>>(Relation::ALL[2].sql_function())?;
    connection.register_scalar_function::<RelationFunction<3>>(Relation::ALL[3].sql_function())?;
    connection.register_scalar_function::<RelationFunction<4>>(Relation::ALL[4].sql_function())?;
    connection.register_scalar_function::<RelationFunction<5>>(Relation::ALL[5].sql_function())?;
    connection.register_scalar_function::<RelationFunction<6>>(Relation::ALL[6].sql_function())?;
    connection.register_scalar_function::<RelationFunction<7>>(Relation::ALL[7].sql_function())?;
    Ok(())
}

/// The values of a binary column, whichever binary layout DuckDB hands over.
fn binary_values(column: &ArrayRef) -> Result<Vec<Option<&[u8]>>, Box<dyn std::error::Error>> {
    if let Some(array) = column.as_any().downcast_ref::<BinaryArray>() {
        return Ok(array.iter().collect());
    }
    if let Some(array) = column.as_any().downcast_ref::<LargeBinaryArray>() {
        return Ok(array.iter().collect());
    }
    Err(format!("spatial functions expect BLOB arguments, got {}", column.data_type()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stac_indexed_format::geometry::encode_geojson;

    fn wkb(value: serde_json::Value) -> Vec<u8> {
        encode_geojson(&value).unwrap().wkb
    }

    #[test]
    fn encoded_geojson_decodes_back() {
        let polygon = decode_wkb(&wkb(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]}),
        ))
        .unwrap();
        assert!(matches!(polygon, Geometry::Polygon(ref p) if p.exterior().0.len() == 4));
        let multi = decode_wkb(&wkb(json!({"type": "MultiPolygon", "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]
        ]})))
        .unwrap();
        assert!(matches!(multi, Geometry::MultiPolygon(ref m) if m.0.len() == 2));
        let collection = decode_wkb(&wkb(json!({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [1, 1]},
            {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]]]}
        ]})))
        .unwrap();
        assert!(matches!(collection, Geometry::GeometryCollection(ref c) if c.0.len() == 2));
        assert!(decode_wkb(&[1, 1, 0]).is_none());
        assert!(decode_wkb(&[1, 6, 0, 0, 0, 255, 255, 255, 255]).is_none());
    }

    #[test]
    fn intersection_is_exact_not_by_bbox() {
        let triangle = decode_wkb(&wkb(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 10], [0, 0]]]}),
        ))
        .unwrap();
        let inside = decode_wkb(&wkb(json!({"type": "Point", "coordinates": [1, 1]}))).unwrap();
        let in_bbox_only = decode_wkb(&wkb(json!({"type": "Point", "coordinates": [9, 9]}))).unwrap();
        assert!(triangle.intersects(&inside));
        assert!(!triangle.intersects(&in_bbox_only));
    }
}
